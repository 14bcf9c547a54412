//! The columnar snapshot and the query engine over it.
//!
//! Layout: a large immutable `main` segment and a small `delta` segment, both
//! sorted by (event day, row id), plus a bitset of `main` rows superseded since
//! it was built. A refresh rewrites only the delta and the bitset; when the
//! delta grows past 1/16 of main (or 4,096 rows) both are merged into a new
//! main in one linear pass. A date range is therefore a binary search plus a
//! scan of the rows inside it, which keeps queries fast without a spatial
//! index: at one million incidents a full scan with every predicate takes a
//! few milliseconds.
//!
//! Coordinates are held as integer micro-degrees. The model rounds them to
//! 1e-6 degrees on entry, so this is exact, and a bounding box includes a
//! point on its edge.

use crate::filter::{Cursor, Filter, GroupKey, Sort};
use chrono::{Datelike, NaiveDate};
use geo::{Distance, Haversine, Point};
use rustc_hash::FxHashMap;
use sahelwatch_core::coarsen::coarse_precision;
use sahelwatch_core::place::admin_key;
use sahelwatch_core::text::fold;
use sahelwatch_core::{
    CountryCode, EventType, GroupId, Marking, OrgId, Precision, SubEventType, Tlp, UserId, Viewer,
};
use std::collections::HashMap;
use std::sync::Arc;

/// The projection of one stored incident that the index keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexRow {
    /// Store row id.
    pub id: i64,
    /// True when the incident was deleted: the index drops it.
    pub deleted: bool,
    /// Owner, TLP, sharing group, author and RED recipients decide who sees it.
    pub marking: Marking,
    /// Where viewers outside the owner organisation see it (equal to the
    /// exact position when the marking does not coarsen).
    pub coarse_latitude: f64,
    pub coarse_longitude: f64,
    pub dataset: Option<String>,
    pub event_date: NaiveDate,
    pub sub_event_type: SubEventType,
    pub latitude: f64,
    pub longitude: f64,
    pub country: CountryCode,
    pub admin1: Option<String>,
    /// Every actor name, main and associated.
    pub actors: Vec<String>,
    pub fatalities: u32,
    /// ACLED geo_precision (1-3) of the exact position.
    pub geo_precision: Precision,
    /// The notes tell of an attack on vehicles, a convoy, a checkpoint or a
    /// road (`sahelwatch_core::incident::ROAD_CUES`).
    pub on_road: bool,
    /// When the row was last written (microseconds since the epoch). Successive
    /// writes get increasing times, in commit order.
    pub updated_micros: i64,
}

/// Interned strings. Id 0 of `admin1` and `dataset` means "none".
#[derive(Debug, Clone, Default)]
struct Dicts {
    admin1_key: Vec<String>,
    admin1_display: Vec<String>,
    admin1_index: HashMap<String, u32>,
    /// Raw spelling -> id, so that each distinct spelling is folded once.
    admin1_raw: FxHashMap<String, u32>,
    actors: Vec<String>,
    /// How each folded actor name is shown: the first spelling seen on a
    /// TLP:CLEAR incident (which everyone may see), else `None` and the
    /// folded key is shown, so a spelling never comes from an incident
    /// the viewer may not see.
    actor_display: Vec<Option<String>>,
    actor_index: HashMap<String, u32>,
    actor_raw: FxHashMap<String, u32>,
    datasets: Vec<String>,
    dataset_index: HashMap<String, u16>,
    countries: Vec<CountryCode>,
    country_index: HashMap<CountryCode, u16>,
    orgs: Vec<OrgId>,
    org_index: HashMap<OrgId, u32>,
    /// Id 0 means "none".
    groups: Vec<Option<GroupId>>,
    group_index: HashMap<GroupId, u32>,
    /// Id 0 means "none".
    users: Vec<Option<UserId>>,
    user_index: HashMap<UserId, u32>,
}

impl Dicts {
    fn new() -> Self {
        let mut d = Dicts::default();
        d.admin1_key.push(String::new());
        d.admin1_display.push(String::new());
        d.datasets.push(String::new());
        d.groups.push(None);
        d.users.push(None);
        d
    }

    fn group(&mut self, g: Option<GroupId>) -> u32 {
        let Some(g) = g else { return 0 };
        if let Some(&i) = self.group_index.get(&g) {
            return i;
        }
        let i = self.groups.len() as u32;
        self.groups.push(Some(g));
        self.group_index.insert(g, i);
        i
    }

    fn user(&mut self, u: Option<UserId>) -> u32 {
        let Some(u) = u else { return 0 };
        if let Some(&i) = self.user_index.get(&u) {
            return i;
        }
        let i = self.users.len() as u32;
        self.users.push(Some(u));
        self.user_index.insert(u, i);
        i
    }

    fn admin1(&mut self, name: Option<&str>) -> u32 {
        let Some(name) = name else { return 0 };
        if let Some(&i) = self.admin1_raw.get(name) {
            return i;
        }
        let i = self.admin1_folded(name);
        self.admin1_raw.insert(name.to_string(), i);
        i
    }

    fn admin1_folded(&mut self, name: &str) -> u32 {
        let key = admin_key(name);
        if key.is_empty() {
            return 0;
        }
        if let Some(&i) = self.admin1_index.get(&key) {
            return i;
        }
        let i = self.admin1_key.len() as u32;
        self.admin1_key.push(key.clone());
        self.admin1_display.push(name.to_string());
        self.admin1_index.insert(key, i);
        i
    }

    fn actor(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.actor_raw.get(name) {
            return i;
        }
        let i = self.actor_folded(name);
        self.actor_raw.insert(name.to_string(), i);
        i
    }

    fn actor_folded(&mut self, name: &str) -> u32 {
        let key = fold(name);
        if let Some(&i) = self.actor_index.get(&key) {
            return i;
        }
        let i = self.actors.len() as u32;
        self.actors.push(key.clone());
        self.actor_display.push(None);
        self.actor_index.insert(key, i);
        i
    }

    fn dataset(&mut self, name: Option<&str>) -> u16 {
        let Some(name) = name else { return 0 };
        if let Some(&i) = self.dataset_index.get(name) {
            return i;
        }
        let i = self.datasets.len() as u16;
        self.datasets.push(name.to_string());
        self.dataset_index.insert(name.to_string(), i);
        i
    }

    fn country(&mut self, c: CountryCode) -> u16 {
        if let Some(&i) = self.country_index.get(&c) {
            return i;
        }
        let i = self.countries.len() as u16;
        self.countries.push(c);
        self.country_index.insert(c, i);
        i
    }

    fn org(&mut self, o: OrgId) -> u32 {
        if let Some(&i) = self.org_index.get(&o) {
            return i;
        }
        let i = self.orgs.len() as u32;
        self.orgs.push(o);
        self.org_index.insert(o, i);
        i
    }
}

/// Column-oriented rows, sorted by (day, id).
#[derive(Debug, Clone, Default)]
struct Segment {
    id: Vec<i64>,
    day: Vec<i32>,
    lat: Vec<i32>,
    lon: Vec<i32>,
    sub: Vec<u8>,
    country: Vec<u16>,
    admin1: Vec<u32>,
    fat: Vec<u32>,
    /// Geo precision seen by the owner (bits 0-1), by others (bits 2-3), and
    /// the on-road flag (bit 4).
    geo: Vec<u8>,
    owner: Vec<u32>,
    tlp: Vec<u8>,
    group: Vec<u32>,
    author: Vec<u32>,
    /// Coarse coordinates, shown outside the owner organisation.
    clat: Vec<i32>,
    clon: Vec<i32>,
    dataset: Vec<u16>,
    actor_off: Vec<u32>,
    actor_ids: Vec<u32>,
    /// RED recipients (user dictionary ids), as offsets like the actors.
    recip_off: Vec<u32>,
    recip_ids: Vec<u32>,
    /// Last write, microseconds since the epoch.
    upd: Vec<i64>,
}

fn to_e6(v: f64) -> i32 {
    (v * 1e6).round() as i32
}

/// Lowest micro-degree value inside a box edge at `v` degrees.
pub(crate) fn edge_lo(v: f64) -> i32 {
    (v * 1e6 - 1e-3).ceil() as i32
}

/// Highest micro-degree value inside a box edge at `v` degrees.
pub(crate) fn edge_hi(v: f64) -> i32 {
    (v * 1e6 + 1e-3).floor() as i32
}

fn day_number(d: NaiveDate) -> i32 {
    d.num_days_from_ce()
}

fn date_of(day: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(day).unwrap_or_default()
}

impl Segment {
    fn with_capacity(n: usize) -> Self {
        let mut s = Segment {
            id: Vec::with_capacity(n),
            day: Vec::with_capacity(n),
            lat: Vec::with_capacity(n),
            lon: Vec::with_capacity(n),
            sub: Vec::with_capacity(n),
            country: Vec::with_capacity(n),
            admin1: Vec::with_capacity(n),
            fat: Vec::with_capacity(n),
            geo: Vec::with_capacity(n),
            owner: Vec::with_capacity(n),
            tlp: Vec::with_capacity(n),
            group: Vec::with_capacity(n),
            author: Vec::with_capacity(n),
            clat: Vec::with_capacity(n),
            clon: Vec::with_capacity(n),
            dataset: Vec::with_capacity(n),
            actor_off: Vec::with_capacity(n + 1),
            actor_ids: Vec::with_capacity(n * 2),
            recip_off: Vec::with_capacity(n + 1),
            recip_ids: Vec::new(),
            upd: Vec::with_capacity(n),
        };
        s.actor_off.push(0);
        s.recip_off.push(0);
        s
    }

    fn len(&self) -> usize {
        self.id.len()
    }

    fn push_row(&mut self, r: &IndexRow, d: &mut Dicts) {
        self.id.push(r.id);
        self.day.push(day_number(r.event_date));
        self.lat.push(to_e6(r.latitude));
        self.lon.push(to_e6(r.longitude));
        self.sub.push(r.sub_event_type.code());
        self.country.push(d.country(r.country));
        self.admin1.push(d.admin1(r.admin1.as_deref()));
        self.fat.push(r.fatalities);
        let m = &r.marking;
        let coarse = coarse_precision(m.coarsen, r.geo_precision);
        self.geo
            .push(r.geo_precision.get() | (coarse.get() << 2) | (u8::from(r.on_road) << 4));
        self.owner.push(d.org(m.owner));
        self.tlp.push(m.tlp.code());
        self.group.push(d.group(m.sharing_group));
        self.author.push(d.user(m.author));
        self.clat.push(to_e6(r.coarse_latitude));
        self.clon.push(to_e6(r.coarse_longitude));
        self.dataset.push(d.dataset(r.dataset.as_deref()));
        self.upd.push(r.updated_micros);
        for a in &r.actors {
            let id = d.actor(a);
            if m.tlp == Tlp::Clear && d.actor_display[id as usize].is_none() {
                d.actor_display[id as usize] = Some(a.clone());
            }
            self.actor_ids.push(id);
        }
        self.actor_off.push(self.actor_ids.len() as u32);
        for u in &m.recipients {
            let id = d.user(Some(*u));
            self.recip_ids.push(id);
        }
        self.recip_off.push(self.recip_ids.len() as u32);
    }

    fn push_from(&mut self, o: &Segment, i: usize) {
        self.id.push(o.id[i]);
        self.day.push(o.day[i]);
        self.lat.push(o.lat[i]);
        self.lon.push(o.lon[i]);
        self.sub.push(o.sub[i]);
        self.country.push(o.country[i]);
        self.admin1.push(o.admin1[i]);
        self.fat.push(o.fat[i]);
        self.geo.push(o.geo[i]);
        self.owner.push(o.owner[i]);
        self.tlp.push(o.tlp[i]);
        self.group.push(o.group[i]);
        self.author.push(o.author[i]);
        self.clat.push(o.clat[i]);
        self.clon.push(o.clon[i]);
        self.dataset.push(o.dataset[i]);
        self.upd.push(o.upd[i]);
        let (a, b) = (o.actor_off[i] as usize, o.actor_off[i + 1] as usize);
        self.actor_ids.extend_from_slice(&o.actor_ids[a..b]);
        self.actor_off.push(self.actor_ids.len() as u32);
        let (a, b) = (o.recip_off[i] as usize, o.recip_off[i + 1] as usize);
        self.recip_ids.extend_from_slice(&o.recip_ids[a..b]);
        self.recip_off.push(self.recip_ids.len() as u32);
    }

    fn key(&self, i: usize) -> (i32, i64) {
        (self.day[i], self.id[i])
    }

    fn actors(&self, i: usize) -> &[u32] {
        &self.actor_ids[self.actor_off[i] as usize..self.actor_off[i + 1] as usize]
    }

    fn recipients(&self, i: usize) -> &[u32] {
        &self.recip_ids[self.recip_off[i] as usize..self.recip_off[i + 1] as usize]
    }

    /// Build from unsorted rows.
    fn from_rows(rows: &[&IndexRow], d: &mut Dicts) -> Segment {
        // Sort precomputed keys: computing the day number inside the
        // comparison would redo it twenty times per row.
        let mut order: Vec<(i32, i64, u32)> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (day_number(r.event_date), r.id, i as u32))
            .collect();
        order.sort_unstable();
        let mut s = Segment::with_capacity(rows.len());
        for (_, _, i) in order {
            s.push_row(rows[i as usize], d);
        }
        s
    }

    /// Merge the live rows of two sorted segments into one.
    fn merge(a: &Segment, a_dead: &[bool], b: &Segment) -> Segment {
        let mut s = Segment::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            if i < a.len() && a_dead[i] {
                i += 1;
                continue;
            }
            let take_a = j >= b.len() || (i < a.len() && a.key(i) <= b.key(j));
            if take_a {
                s.push_from(a, i);
                i += 1;
            } else {
                s.push_from(b, j);
                j += 1;
            }
        }
        s
    }
}

/// One page of a listing: store row ids in order, and the cursor of the next
/// page when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub ids: Vec<i64>,
    pub next: Option<Cursor>,
}

/// One matching incident as the viewer sees it: what analytics need.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub id: i64,
    pub event_date: NaiveDate,
    /// The position this viewer sees (coarse outside the owner organisation).
    pub latitude: f64,
    pub longitude: f64,
    pub sub_event_type: SubEventType,
    pub fatalities: u32,
    /// ACLED geo_precision (1-3) of the position this viewer sees.
    pub geo_precision: u8,
    /// The notes tell of an attack on vehicles, a convoy, a checkpoint or a road.
    pub on_road: bool,
    /// Not TLP:CLEAR (an analysis that used it is audited).
    pub restricted: bool,
}

/// One group of an aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// One value per requested group key, in request order.
    pub keys: Vec<String>,
    pub count: u64,
    pub fatalities: u64,
}

/// Counts and fatalities, in total and per group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Aggregate {
    pub count: u64,
    pub fatalities: u64,
    pub groups: Vec<Group>,
    /// How many of the counted incidents are not TLP:CLEAR (for auditing).
    pub restricted: u64,
}

/// An immutable view of every incident at one change sequence number.
#[derive(Debug, Clone)]
pub struct Snapshot {
    seq: i64,
    main: Arc<Segment>,
    dead: Arc<Vec<bool>>,
    main_by_id: Arc<Vec<(i64, u32)>>,
    delta: Arc<Segment>,
    dicts: Arc<Dicts>,
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot::build(Vec::new(), 0)
    }
}

/// Who may see a row, compiled against the dictionaries.
enum Visibility {
    All,
    ClearOnly,
    User {
        /// Per org dictionary id: is it the viewer's organisation?
        my_org: Vec<bool>,
        /// Per group dictionary id: does the viewer's organisation belong to it?
        my_group: Vec<bool>,
        /// The viewer's user dictionary id, if the viewer appears as an author or recipient.
        me: Option<u32>,
    },
}

/// A filter compiled against a snapshot's dictionaries.
struct Compiled {
    day_lo: i32,
    day_hi: i32,
    lat: Option<(i32, i32)>,
    lon: Option<(i32, i32)>,
    near: Option<(Point<f64>, f64)>,
    within: Option<crate::filter::Within>,
    sub_mask: u32,
    countries: Option<Vec<bool>>,
    admin1: Option<Vec<bool>>,
    actors: Option<Vec<bool>>,
    min_fat: u32,
    dataset: Option<u16>,
    vis: Visibility,
    /// Per owner (org dictionary id): does the viewer get exact coordinates?
    exact: Vec<bool>,
    only_ids: Option<std::collections::HashSet<i64>>,
    /// Some condition can never hold (an unknown admin-1 name, say).
    impossible: bool,
}

fn mask_lookup(mask: &Option<Vec<bool>>, i: usize) -> bool {
    match mask {
        None => true,
        Some(m) => m.get(i).copied().unwrap_or(false),
    }
}

impl Compiled {
    fn new(f: &Filter, viewer: &Viewer, d: &Dicts) -> Compiled {
        let mut impossible = false;
        let day_lo = f.date_from.map(day_number).unwrap_or(i32::MIN);
        let day_hi = f.date_to.map(day_number).unwrap_or(i32::MAX);
        if day_lo > day_hi {
            impossible = true;
        }
        // Integer bounds: a stored value v (micro-degrees) is inside when
        // min*1e6 <= v <= max*1e6, with 1e-3 micro-degree of slack so that a
        // point exactly on an edge is inside despite floating-point rounding.
        let (mut lat, mut lon) = (None, None);
        if let Some(b) = f.bbox {
            lat = Some((edge_lo(b.min_lat), edge_hi(b.max_lat)));
            lon = Some((edge_lo(b.min_lon), edge_hi(b.max_lon)));
        }
        let mut near = None;
        if let Some(n) = f.near {
            let r_m = n.radius_km * 1000.0;
            // A box that contains the circle, enlarged by 1% against rounding.
            let dlat = (r_m / 6_371_008.8).to_degrees() * 1.01;
            let coslat = n.lat.to_radians().cos().abs();
            let dlon = if coslat < 1e-6 {
                360.0
            } else {
                (dlat / coslat).min(360.0)
            };
            let nb = (
                (((n.lat - dlat).max(-90.0)) * 1e6).floor() as i32,
                (((n.lat + dlat).min(90.0)) * 1e6).ceil() as i32,
            );
            let lb = (
                (((n.lon - dlon).max(-180.0)) * 1e6).floor() as i32,
                (((n.lon + dlon).min(180.0)) * 1e6).ceil() as i32,
            );
            lat = Some(match lat {
                Some((a, b)) => (a.max(nb.0), b.min(nb.1)),
                None => nb,
            });
            // Near the antimeridian the box would wrap; fall back to the exact test only.
            if n.lon - dlon >= -180.0 && n.lon + dlon <= 180.0 {
                lon = Some(match lon {
                    Some((a, b)) => (a.max(lb.0), b.min(lb.1)),
                    None => lb,
                });
            }
            near = Some((Point::new(n.lon, n.lat), r_m));
        }
        if let Some(w) = &f.within {
            let b = w.bbox();
            let (wl, wn) = (
                (edge_lo(b.min_lat), edge_hi(b.max_lat)),
                (edge_lo(b.min_lon), edge_hi(b.max_lon)),
            );
            lat = Some(lat.map_or(wl, |(a, z)| (a.max(wl.0), z.min(wl.1))));
            lon = Some(lon.map_or(wn, |(a, z)| (a.max(wn.0), z.min(wn.1))));
        }
        let mut sub_mask: u32 = 0;
        if f.event_types.is_empty() && f.sub_event_types.is_empty() {
            sub_mask = u32::MAX;
        } else {
            let types: Vec<EventType> = f.event_types.clone();
            for s in SubEventType::ALL {
                let by_type = types.is_empty() || types.contains(&s.event_type());
                let by_sub = f.sub_event_types.is_empty() || f.sub_event_types.contains(s);
                if by_type && by_sub {
                    sub_mask |= 1 << s.code();
                }
            }
            if sub_mask == 0 {
                impossible = true;
            }
        }
        let countries = (!f.countries.is_empty()).then(|| {
            d.countries
                .iter()
                .map(|c| f.countries.contains(c))
                .collect::<Vec<bool>>()
        });
        let admin1 = (!f.admin1.is_empty()).then(|| {
            let wanted: Vec<String> = f.admin1.iter().map(|a| admin_key(a)).collect();
            d.admin1_key
                .iter()
                .enumerate()
                .map(|(i, k)| i != 0 && wanted.contains(k))
                .collect::<Vec<bool>>()
        });
        let actors = f.actor.as_ref().map(|a| {
            let needle = fold(a);
            d.actors
                .iter()
                .map(|k| k.contains(&needle))
                .collect::<Vec<bool>>()
        });
        let dataset = match &f.dataset {
            None => None,
            Some(name) => match d.dataset_index.get(name) {
                Some(&i) => Some(i),
                None => {
                    impossible = true;
                    None
                }
            },
        };
        let vis = match viewer {
            Viewer::Local => Visibility::All,
            Viewer::Anonymous => Visibility::ClearOnly,
            Viewer::User(p) => Visibility::User {
                my_org: d.orgs.iter().map(|o| *o == p.org).collect(),
                my_group: d
                    .groups
                    .iter()
                    .map(|g| g.is_some_and(|g| p.groups.contains(&g)))
                    .collect(),
                me: d.user_index.get(&p.user).copied(),
            },
        };
        let exact = d.orgs.iter().map(|o| viewer.exact_location(*o)).collect();
        if let Some((a, b)) = lat {
            impossible |= a > b;
        }
        if let Some((a, b)) = lon {
            impossible |= a > b;
        }
        Compiled {
            day_lo,
            day_hi,
            lat,
            lon,
            near,
            within: f.within.clone(),
            sub_mask,
            countries,
            admin1,
            actors,
            min_fat: f.min_fatalities.unwrap_or(0),
            dataset,
            vis,
            exact,
            only_ids: f.only_ids.clone(),
            impossible,
        }
    }

    #[inline]
    fn visible(&self, s: &Segment, i: usize) -> bool {
        match &self.vis {
            Visibility::All => true,
            Visibility::ClearOnly => s.tlp[i] == Tlp::Clear.code(),
            Visibility::User {
                my_org,
                my_group,
                me,
            } => match s.tlp[i] {
                0 | 1 => true,
                2 => my_org[s.owner[i] as usize] || my_group[s.group[i] as usize],
                3 => my_org[s.owner[i] as usize],
                _ => me.is_some_and(|me| s.author[i] == me || s.recipients(i).contains(&me)),
            },
        }
    }

    /// The coordinates this viewer sees for row `i`.
    #[inline]
    fn position(&self, s: &Segment, i: usize) -> (i32, i32) {
        if self.exact[s.owner[i] as usize] {
            (s.lat[i], s.lon[i])
        } else {
            (s.clat[i], s.clon[i])
        }
    }

    #[inline]
    fn matches(&self, s: &Segment, i: usize) -> bool {
        let (lat_i, lon_i) = self.position(s, i);
        if let Some((a, b)) = self.lat
            && (lat_i < a || lat_i > b)
        {
            return false;
        }
        if let Some((a, b)) = self.lon
            && (lon_i < a || lon_i > b)
        {
            return false;
        }
        if self.sub_mask & (1 << s.sub[i]) == 0 || s.fat[i] < self.min_fat {
            return false;
        }
        if !self.visible(s, i) {
            return false;
        }
        if !mask_lookup(&self.countries, s.country[i] as usize)
            || !mask_lookup(&self.admin1, s.admin1[i] as usize)
        {
            return false;
        }
        if let Some(ds) = self.dataset
            && s.dataset[i] != ds
        {
            return false;
        }
        if let Some(m) = &self.actors
            && !s.actors(i).iter().any(|&a| m[a as usize])
        {
            return false;
        }
        if let Some((center, r_m)) = self.near {
            let p = Point::new(lon_i as f64 / 1e6, lat_i as f64 / 1e6);
            if Haversine.distance(center, p) > r_m {
                return false;
            }
        }
        if let Some(w) = &self.within
            && !w.contains(lat_i as f64 / 1e6, lon_i as f64 / 1e6)
        {
            return false;
        }
        if let Some(ids) = &self.only_ids
            && !ids.contains(&s.id[i])
        {
            return false;
        }
        true
    }

    /// Positions [start, end) of a segment inside the day range.
    fn range(&self, s: &Segment) -> (usize, usize) {
        let start = s.day.partition_point(|&d| d < self.day_lo);
        let end = s.day.partition_point(|&d| d <= self.day_hi);
        (start, end.max(start))
    }
}

impl Snapshot {
    /// Build a snapshot from every live row (deleted rows are skipped).
    pub fn build(rows: Vec<IndexRow>, seq: i64) -> Snapshot {
        let mut dicts = Dicts::new();
        let live: Vec<&IndexRow> = rows.iter().filter(|r| !r.deleted).collect();
        let main = Segment::from_rows(&live, &mut dicts);
        Snapshot::from_parts(main, Segment::with_capacity(0), dicts, seq)
    }

    fn from_parts(main: Segment, delta: Segment, dicts: Dicts, seq: i64) -> Snapshot {
        let mut by_id: Vec<(i64, u32)> = main
            .id
            .iter()
            .enumerate()
            .map(|(i, &id)| (id, i as u32))
            .collect();
        by_id.sort_unstable();
        Snapshot {
            seq,
            dead: Arc::new(vec![false; main.len()]),
            main: Arc::new(main),
            main_by_id: Arc::new(by_id),
            delta: Arc::new(delta),
            dicts: Arc::new(dicts),
        }
    }

    /// The change sequence number this snapshot reflects.
    pub fn seq(&self) -> i64 {
        self.seq
    }

    /// Number of live incidents.
    pub fn len(&self) -> usize {
        self.main.len() - self.dead.iter().filter(|d| **d).count() + self.delta.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next snapshot: this one with `changes` (new versions of rows, or
    /// deletions) applied, at sequence number `seq`.
    pub fn apply(&self, changes: Vec<IndexRow>, seq: i64) -> Snapshot {
        self.apply_with_threshold(changes, seq, (self.main.len() / 16).max(4096))
    }

    /// [`Self::apply`], merging the delta into main once it exceeds `threshold` rows.
    fn apply_with_threshold(&self, changes: Vec<IndexRow>, seq: i64, threshold: usize) -> Snapshot {
        if changes.is_empty() {
            let mut s = self.clone();
            s.seq = seq.max(self.seq);
            return s;
        }
        // Last version of each changed row wins.
        let mut latest: HashMap<i64, &IndexRow> = HashMap::with_capacity(changes.len());
        for r in &changes {
            latest.insert(r.id, r);
        }
        let mut dicts = (*self.dicts).clone();
        let mut dead = (*self.dead).clone();
        for id in latest.keys() {
            if let Ok(k) = self.main_by_id.binary_search_by_key(id, |e| e.0) {
                dead[self.main_by_id[k].1 as usize] = true;
            }
        }
        // Keep the delta rows that did not change, add the new versions.
        let mut kept = Segment::with_capacity(self.delta.len());
        for i in 0..self.delta.len() {
            if !latest.contains_key(&self.delta.id[i]) {
                kept.push_from(&self.delta, i);
            }
        }
        let fresh: Vec<&IndexRow> = latest.values().copied().filter(|r| !r.deleted).collect();
        let fresh = Segment::from_rows(&fresh, &mut dicts);
        let no_dead = vec![false; kept.len()];
        let delta = Segment::merge(&kept, &no_dead, &fresh);

        if delta.len() > threshold {
            let main = Segment::merge(&self.main, &dead, &delta);
            return Snapshot::from_parts(main, Segment::with_capacity(0), dicts, seq);
        }
        Snapshot {
            seq,
            main: Arc::clone(&self.main),
            dead: Arc::new(dead),
            main_by_id: Arc::clone(&self.main_by_id),
            delta: Arc::new(delta),
            dicts: Arc::new(dicts),
        }
    }

    /// The first and last event day held (live or not); (0, 0) when empty.
    fn day_range(&self) -> (i32, i32) {
        let firsts = [self.main.day.first(), self.delta.day.first()];
        let lasts = [self.main.day.last(), self.delta.day.last()];
        let lo = firsts.into_iter().flatten().min().copied();
        let hi = lasts.into_iter().flatten().max().copied();
        match (lo, hi) {
            (Some(a), Some(b)) => (a, b),
            _ => (0, 0),
        }
    }

    /// Matching positions of both segments in ascending (day, id) order.
    fn scan(&self, c: &Compiled, mut visit: impl FnMut(&Segment, usize) -> bool, descending: bool) {
        if c.impossible {
            return;
        }
        let (ms, me) = c.range(&self.main);
        let (ds, de) = c.range(&self.delta);
        let main_ok = |i: usize| !self.dead[i] && c.matches(&self.main, i);
        let delta_hits: Vec<usize> = (ds..de).filter(|&i| c.matches(&self.delta, i)).collect();
        let m = &self.main;
        let d = &self.delta;
        if descending {
            let mut i = me;
            let mut j = delta_hits.len();
            loop {
                // Next main hit going down.
                while i > ms && !main_ok(i - 1) {
                    i -= 1;
                }
                let has_m = i > ms;
                let has_d = j > 0;
                if !has_m && !has_d {
                    return;
                }
                let take_m = has_m && (!has_d || m.key(i - 1) > d.key(delta_hits[j - 1]));
                let go_on = if take_m {
                    i -= 1;
                    visit(m, i)
                } else {
                    j -= 1;
                    visit(d, delta_hits[j])
                };
                if !go_on {
                    return;
                }
            }
        } else {
            let mut i = ms;
            let mut j = 0;
            loop {
                while i < me && !main_ok(i) {
                    i += 1;
                }
                let has_m = i < me;
                let has_d = j < delta_hits.len();
                if !has_m && !has_d {
                    return;
                }
                let take_m = has_m && (!has_d || m.key(i) < d.key(delta_hits[j]));
                let go_on = if take_m {
                    i += 1;
                    visit(m, i - 1)
                } else {
                    j += 1;
                    visit(d, delta_hits[j - 1])
                };
                if !go_on {
                    return;
                }
            }
        }
    }

    /// One page of the incidents matching `filter` that `viewer` may see.
    pub fn search(
        &self,
        filter: &Filter,
        viewer: &Viewer,
        sort: Sort,
        after: Option<Cursor>,
        limit: usize,
    ) -> Page {
        let limit = limit.max(1);
        let mut c = Compiled::new(filter, viewer, &self.dicts);
        let mut ids = Vec::with_capacity(limit + 1);
        let mut last_key = 0i64;
        match sort {
            Sort::DateDesc | Sort::DateAsc => {
                let desc = sort == Sort::DateDesc;
                if let Some(cur) = after {
                    // Narrow the day range to the cursor's side, then skip ties.
                    let cday = cur.key.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
                    if desc {
                        c.day_hi = c.day_hi.min(cday);
                    } else {
                        c.day_lo = c.day_lo.max(cday);
                    }
                }
                let mut more = false;
                self.scan(
                    &c,
                    |s, i| {
                        if let Some(cur) = after {
                            let k = (s.day[i] as i64, s.id[i]);
                            let past = if desc {
                                k < (cur.key, cur.id)
                            } else {
                                k > (cur.key, cur.id)
                            };
                            if !past {
                                return true;
                            }
                        }
                        if ids.len() == limit {
                            more = true;
                            return false;
                        }
                        ids.push(s.id[i]);
                        last_key = s.day[i] as i64;
                        true
                    },
                    desc,
                );
                let next = (more && !ids.is_empty()).then(|| Cursor {
                    sort,
                    key: last_key,
                    id: *ids.last().unwrap_or(&0),
                });
                Page { ids, next }
            }
            Sort::FatalitiesDesc | Sort::FatalitiesAsc => {
                let desc = sort == Sort::FatalitiesDesc;
                let mut hits: Vec<(i64, i64)> = Vec::new();
                self.scan(
                    &c,
                    |s, i| {
                        let k = (s.fat[i] as i64, s.id[i]);
                        let keep = match after {
                            None => true,
                            Some(cur) if desc => k < (cur.key, cur.id),
                            Some(cur) => k > (cur.key, cur.id),
                        };
                        if keep {
                            hits.push(k);
                        }
                        true
                    },
                    false,
                );
                let cmp = |a: &(i64, i64), b: &(i64, i64)| if desc { b.cmp(a) } else { a.cmp(b) };
                if hits.len() > limit + 1 {
                    hits.select_nth_unstable_by(limit, cmp);
                    hits.truncate(limit + 1);
                }
                hits.sort_unstable_by(cmp);
                let more = hits.len() > limit;
                hits.truncate(limit);
                let next = (more && !hits.is_empty()).then(|| {
                    let (k, id) = hits[hits.len() - 1];
                    Cursor { sort, key: k, id }
                });
                Page {
                    ids: hits.into_iter().map(|h| h.1).collect(),
                    next,
                }
            }
        }
    }

    /// Every matching row id the viewer may see, oldest first.
    pub fn ids(&self, filter: &Filter, viewer: &Viewer) -> Vec<i64> {
        let c = Compiled::new(filter, viewer, &self.dicts);
        let mut out = Vec::new();
        self.scan(
            &c,
            |s, i| {
                out.push(s.id[i]);
                true
            },
            false,
        );
        out
    }

    /// The latest (update time, row id) of any live incident: every later
    /// write sorts after it.
    pub fn last_change(&self) -> (i64, i64) {
        let mut best = (i64::MIN, i64::MIN);
        for s in [&self.main, &self.delta] {
            for i in 0..s.len() {
                best = best.max((s.upd[i], s.id[i]));
            }
        }
        best
    }

    /// The first `limit` matching incidents the viewer may see in order of
    /// their last write, strictly after `after` = (update time, row id):
    /// `(update time, row id)` pairs. This is the feed order of TAXII and of
    /// the live stream.
    pub fn changed_after(
        &self,
        filter: &Filter,
        viewer: &Viewer,
        after: (i64, i64),
        limit: usize,
    ) -> Vec<(i64, i64)> {
        let c = Compiled::new(filter, viewer, &self.dicts);
        let mut hits: Vec<(i64, i64)> = Vec::new();
        self.scan(
            &c,
            |s, i| {
                let k = (s.upd[i], s.id[i]);
                if k > after {
                    hits.push(k);
                }
                true
            },
            false,
        );
        if hits.len() > limit && limit > 0 {
            hits.select_nth_unstable(limit);
        }
        hits.truncate(limit);
        hits.sort_unstable();
        hits
    }

    /// Call `visit` with every matching incident the viewer may see, oldest
    /// first, positions as the viewer sees them.
    pub fn visit(&self, filter: &Filter, viewer: &Viewer, mut visit: impl FnMut(Hit)) {
        let c = Compiled::new(filter, viewer, &self.dicts);
        let mut last_day = i32::MIN;
        let mut date = NaiveDate::default();
        self.scan(
            &c,
            |s, i| {
                if s.day[i] != last_day {
                    last_day = s.day[i];
                    date = date_of(last_day);
                }
                let (lat, lon) = c.position(s, i);
                let geo = s.geo[i];
                visit(Hit {
                    id: s.id[i],
                    event_date: date,
                    latitude: lat as f64 / 1e6,
                    longitude: lon as f64 / 1e6,
                    sub_event_type: SubEventType::from_code(s.sub[i])
                        .unwrap_or(SubEventType::ALL[0]),
                    fatalities: s.fat[i],
                    geo_precision: if c.exact[s.owner[i] as usize] {
                        geo & 3
                    } else {
                        (geo >> 2) & 3
                    },
                    on_road: geo & 16 != 0,
                    restricted: s.tlp[i] != Tlp::Clear.code(),
                });
                true
            },
            false,
        );
    }

    /// Count and fatalities of matching incidents per actor (main or
    /// associated; an incident counts once for each of its actors), most
    /// incidents first. Names are shown as first spelt.
    pub fn actor_totals(&self, filter: &Filter, viewer: &Viewer) -> Vec<Group> {
        let c = Compiled::new(filter, viewer, &self.dicts);
        let mut totals = vec![(0u64, 0u64); self.dicts.actors.len()];
        self.scan(
            &c,
            |s, i| {
                for &a in s.actors(i) {
                    let t = &mut totals[a as usize];
                    t.0 += 1;
                    t.1 += s.fat[i] as u64;
                }
                true
            },
            false,
        );
        let mut out: Vec<Group> = totals
            .into_iter()
            .enumerate()
            .filter(|(_, t)| t.0 > 0)
            .map(|(a, (count, fatalities))| Group {
                keys: vec![
                    self.dicts.actor_display[a]
                        .clone()
                        .unwrap_or_else(|| self.dicts.actors[a].clone()),
                ],
                count,
                fatalities,
            })
            .collect();
        out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.keys.cmp(&b.keys)));
        out
    }

    /// Count and sum fatalities of matching incidents, grouped by up to four keys.
    pub fn aggregate(&self, filter: &Filter, viewer: &Viewer, keys: &[GroupKey]) -> Aggregate {
        let c = Compiled::new(filter, viewer, &self.dicts);
        let keys = &keys[..keys.len().min(4)];
        let (mut count, mut fatalities, mut restricted) = (0u64, 0u64, 0u64);
        // Each key value becomes a small integer in 0..cardinality. When the
        // product of the cardinalities is modest, groups live in a dense array
        // indexed directly (a few ns per row); otherwise in a hash map.
        let (min_day, max_day) = self.day_range();
        let (y0, y1) = (
            date_of(min_day).year() as i64,
            date_of(max_day).year() as i64,
        );
        let card = |k: GroupKey| -> i64 {
            match k {
                GroupKey::Country => self.dicts.countries.len() as i64,
                GroupKey::Admin1 => self.dicts.admin1_key.len() as i64,
                GroupKey::EventType => EventType::ALL.len() as i64,
                GroupKey::SubEventType => SubEventType::ALL.len() as i64,
                GroupKey::Year => y1 - y0 + 1,
                GroupKey::Month => (y1 - y0 + 1) * 12,
                GroupKey::Dataset => self.dicts.datasets.len() as i64,
            }
        };
        let cards: Vec<i64> = keys.iter().map(|k| card(*k).max(1)).collect();
        let cells: i64 = cards.iter().product();
        const DENSE_LIMIT: i64 = 1 << 22;
        let mut dense: Vec<(u64, u64)> = if !keys.is_empty() && cells <= DENSE_LIMIT {
            vec![(0, 0); cells as usize]
        } else {
            Vec::new()
        };
        let mut sparse: FxHashMap<[i64; 4], (u64, u64)> = FxHashMap::default();
        // Rows arrive mostly in day order: convert a day to (year, month) once
        // per run of equal days rather than once per row.
        let mut last_day = i32::MIN;
        let mut last_ym = (0i64, 0i64);
        self.scan(
            &c,
            |s, i| {
                count += 1;
                fatalities += s.fat[i] as u64;
                restricted += (s.tlp[i] != 0) as u64;
                if keys.is_empty() {
                    return true;
                }
                if s.day[i] != last_day {
                    last_day = s.day[i];
                    let d = date_of(last_day);
                    last_ym = (
                        d.year() as i64 - y0,
                        (d.year() as i64 - y0) * 12 + d.month0() as i64,
                    );
                }
                let mut k = [0i64; 4];
                for (slot, key) in k.iter_mut().zip(keys) {
                    *slot = match key {
                        GroupKey::Country => s.country[i] as i64,
                        GroupKey::Admin1 => s.admin1[i] as i64,
                        GroupKey::EventType => SubEventType::from_code(s.sub[i])
                            .map(|t| t.event_type().code())
                            .unwrap_or(0) as i64,
                        GroupKey::SubEventType => s.sub[i] as i64,
                        GroupKey::Year => last_ym.0,
                        GroupKey::Month => last_ym.1,
                        GroupKey::Dataset => s.dataset[i] as i64,
                    };
                }
                let e = if dense.is_empty() {
                    sparse.entry(k).or_insert((0, 0))
                } else {
                    let mut cell = 0i64;
                    for (v, n) in k.iter().zip(&cards) {
                        cell = cell * n + v;
                    }
                    &mut dense[cell as usize]
                };
                e.0 += 1;
                e.1 += s.fat[i] as u64;
                true
            },
            false,
        );
        let mut groups: Vec<([i64; 4], (u64, u64))> = sparse.into_iter().collect();
        for (cell, v) in dense.iter().enumerate() {
            if v.0 == 0 {
                continue;
            }
            let mut k = [0i64; 4];
            let mut rest = cell as i64;
            for j in (0..cards.len()).rev() {
                k[j] = rest % cards[j];
                rest /= cards[j];
            }
            groups.push((k, *v));
        }
        let d = &self.dicts;
        let label = |k: GroupKey, v: i64| -> String {
            match k {
                GroupKey::Country => d
                    .countries
                    .get(v as usize)
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
                GroupKey::Admin1 => d
                    .admin1_display
                    .get(v as usize)
                    .cloned()
                    .unwrap_or_default(),
                GroupKey::EventType => EventType::from_code(v as u8)
                    .map(|t| t.label().to_string())
                    .unwrap_or_default(),
                GroupKey::SubEventType => SubEventType::from_code(v as u8)
                    .map(|t| t.label().to_string())
                    .unwrap_or_default(),
                GroupKey::Year => (y0 + v).to_string(),
                GroupKey::Month => {
                    format!("{:04}-{:02}", y0 + v.div_euclid(12), v.rem_euclid(12) + 1)
                }
                GroupKey::Dataset => d.datasets.get(v as usize).cloned().unwrap_or_default(),
            }
        };
        let mut out: Vec<Group> = groups
            .into_iter()
            .map(|(k, (n, f))| Group {
                keys: keys
                    .iter()
                    .enumerate()
                    .map(|(i, key)| label(*key, k[i]))
                    .collect(),
                count: n,
                fatalities: f,
            })
            .collect();
        out.sort_by(|a, b| a.keys.cmp(&b.keys));
        Aggregate {
            count,
            fatalities,
            groups: out,
            restricted,
        }
    }
}

#[cfg(test)]
mod tests;
