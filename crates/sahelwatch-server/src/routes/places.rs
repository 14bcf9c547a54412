//! `/api/v1/places`: gazetteer search.

use super::Query;
use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use sahelwatch_app::{ParamError, PlaceView};
use sahelwatch_core::{CountryCode, PlaceQuery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search_places))
}

/// Place search parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PlaceParams {
    /// Name or start of a name; case and accents are ignored ("tera" finds "Téra").
    #[param(required = true)]
    pub q: Option<String>,
    /// Only places in this country (ISO code or name).
    pub country: Option<String>,
    /// Only this GeoNames feature class (`P` populated places, `A` administrative areas, ...).
    #[param(pattern = "^[AHLPRSTUV]$")]
    pub feature_class: Option<String>,
    /// At most this many results, 1..100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

/// Place search results, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceResults {
    pub items: Vec<PlaceView>,
}

/// Search the gazetteer by name.
///
/// Ranking: exact name, exact alternate name, prefix, then a later word of a
/// name; within each, populated places before administrative areas before
/// other features, then by population.
#[utoipa::path(
    get,
    path = "/api/v1/places",
    tag = "places",
    params(PlaceParams),
    responses(
        (status = 200, description = "Matching places", body = PlaceResults),
        (status = 400, description = "A parameter is invalid", body = ApiError),
    ),
    security(("bearer" = []), ("session" = []))
)]
async fn search_places(
    _caller: crate::auth::Caller,
    State(state): State<AppState>,
    Query(p): Query<PlaceParams>,
) -> Result<Json<PlaceResults>, ApiError> {
    let mut errs = Vec::new();
    let q = p.q.clone().unwrap_or_default();
    if q.trim().is_empty() {
        errs.push(ParamError::new("q", &q, "is required"));
    }
    let country = match &p.country {
        None => None,
        Some(c) => match CountryCode::parse(c) {
            Some(code) => Some(code),
            None => {
                errs.push(ParamError::new(
                    "country",
                    c,
                    "is not a known country code or name",
                ));
                None
            }
        },
    };
    let limit = match &p.limit {
        None => 20,
        Some(l) => match l.trim().parse::<usize>() {
            Ok(v) if (1..=100).contains(&v) => v,
            _ => {
                errs.push(ParamError::new(
                    "limit",
                    l,
                    "must be a whole number from 1 to 100",
                ));
                20
            }
        },
    };
    if let Some(fc) = &p.feature_class
        && !matches!(
            fc.as_str(),
            "A" | "H" | "L" | "P" | "R" | "S" | "T" | "U" | "V"
        )
    {
        errs.push(ParamError::new(
            "feature_class",
            fc,
            "must be one of A, H, L, P, R, S, T, U, V",
        ));
    }
    if !errs.is_empty() {
        return Err(ApiError::invalid_params(errs));
    }
    let gazetteer = state.app.gazetteer().await?;
    let hits = gazetteer.search(&PlaceQuery {
        q,
        country,
        feature_class: p.feature_class.clone(),
        limit,
    });
    Ok(Json(PlaceResults {
        items: hits.iter().map(PlaceView::from).collect(),
    }))
}
