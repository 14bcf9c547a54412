//! Reading report texts: the extraction of `sahelwatch-extract` with this
//! deployment's gazetteer and actor dictionary. (Storing reports, fusion
//! into incidents and kidnap cases build on this.)

use crate::{App, AppError, ParamError};
use chrono::NaiveDate;
use sahelwatch_extract::lang::Lang;
use sahelwatch_extract::places::PlaceIndex;
use sahelwatch_extract::report::{self, TextError};
use std::sync::Arc;

pub use sahelwatch_extract::actors::ActorDictionary;
pub use sahelwatch_extract::report::{DEFAULT_MAX_BYTES, Extraction, text_of};

impl App {
    /// Use this actor dictionary for report extraction (the bundled one
    /// extended by configuration).
    pub fn with_actors(mut self, actors: ActorDictionary) -> App {
        self.actors = Arc::new(actors);
        self
    }

    /// The gazetteer's place index for extraction (built once per gazetteer
    /// version, off the async threads).
    pub async fn place_index(&self) -> Result<Arc<PlaceIndex>, AppError> {
        let gaz = self.gazetteer().await?;
        let cached = self
            .place_index
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some((g, idx)) = cached
            && Arc::ptr_eq(&g, &gaz)
        {
            return Ok(idx);
        }
        let g = Arc::clone(&gaz);
        let idx = Arc::new(
            tokio::task::spawn_blocking(move || PlaceIndex::new(g))
                .await
                .map_err(|e| AppError::Internal(format!("building the place index: {e}")))?,
        );
        *self.place_index.lock().unwrap_or_else(|e| e.into_inner()) = Some((gaz, Arc::clone(&idx)));
        Ok(idx)
    }

    /// What a report text says: checked (not empty, at most
    /// [`DEFAULT_MAX_BYTES`], UTF-8, not binary), then extracted against the
    /// publication date. `lang`: as given, else detected.
    pub async fn extract_text(
        &self,
        bytes: &[u8],
        published: NaiveDate,
        lang: Option<&str>,
    ) -> Result<Extraction, AppError> {
        let lang = match lang {
            None => None,
            Some(l) => Some(Lang::parse(l).ok_or_else(|| {
                AppError::BadRequest(vec![ParamError::new("lang", l, "must be en or fr")])
            })?),
        };
        let text = report::text_of(bytes, DEFAULT_MAX_BYTES).map_err(|e| match e {
            TextError::TooLarge { .. } => AppError::TooLarge(e.to_string()),
            _ => AppError::BadRequest(vec![ParamError::new("text", "", e.to_string())]),
        })?;
        let places = self.place_index().await?;
        let actors = Arc::clone(&self.actors);
        let text = text.to_string();
        tokio::task::spawn_blocking(move || {
            report::extract(&text, published, lang, &actors, &places)
        })
        .await
        .map_err(|e| AppError::Internal(format!("extraction: {e}")))
    }
}
