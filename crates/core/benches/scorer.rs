//! Cost per record of the trend scorer: decode the stream record (the DynamoDB Streams JSON the
//! Lambda receives, through the same decoder the Lambda uses) and the list's scorer state, score,
//! plan the writes (event items, the merged state, which holds the latest ranking).
//!
//! A generated stream of 20,000 hourly snapshots across 100 categories (200 per category, lists of
//! 20 drifting a little every hour, with prices and reviews) is scored twice in the same run:
//!
//! - **windowed** (what the step does): each record reads the list's `SCORE` item as stored (JSON
//!   with the state's bytes in base64), decodes it, scores against it, and plans the writes,
//!   including the merged state item serialized again;
//! - **naive**: every record recomputes from the whole category history: the state is rebuilt from
//!   all earlier snapshots and events before scoring.
//!
//! Both give the same events (checked), as does the **warm** path (the state held decoded by the
//! instance, as a warm Lambda's cache holds it), run five times: its median pass is printed, with the
//! fastest and the slowest; and again on the records of 10 of the lists only (each list's work the
//! same, its state still in cache when its next record comes). Printed: µs/record and records/s
//! for each, and the ratios.
//! No store is involved: this measures the pure work a record costs (the step adds the store's I/O).
//!
//! `cargo bench -p meli-core --bench scorer` (about 10 s); `-- --digest` prints, untimed, a digest of
//! everything the warm path produces, for checking that a faster scorer computes the same. `SCORER_BENCH_CATEGORIES` and
//! `SCORER_BENCH_SNAPSHOTS` are not read: the sizes are fixed so runs compare.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)] // a benchmark binary reports on stdout

use std::collections::HashMap;

/// The allocator the Lambdas use (`crates/*/src/main.rs`), so the figures are theirs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::hint::black_box;
use std::time::{Duration as StdDuration, Instant};

use aws_lambda_events::dynamodb::EventRecord;
use chrono::{Duration, TimeZone, Utc};
use meli_core::ids::{CategoryId, EntryId, EntryType, Position, SiteId};
use meli_core::names::{self, NameMap, Names};
use meli_core::pipeline::SnapshotRecord;
use meli_core::signals::{
    self, plan_writes, FiredEvent, ListState, ScoreContext, ScoreStateItem, SignalConfig, SnapshotItem,
};
use meli_core::snapshot::{Snapshot, SnapshotEntry};
use meli_core::stream::{self, Change, ChangeKind, RawRecord};

const CATEGORIES: usize = 100;
const SNAPSHOTS_PER_CATEGORY: usize = 200;
const POOL: u64 = 40;

/// splitmix64: a small deterministic generator (no dependency needed for test data).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The DynamoDB Streams record of a snapshot item's insert, as JSON (what Lambda delivers).
fn stream_record(item: &SnapshotItem, seq: usize) -> String {
    let change = Change {
        kind: ChangeKind::Insert,
        pk: item.pk.clone(),
        sk: item.sk.clone(),
        new: Some(item.to_item().unwrap()),
        old: None,
        sequence: format!("{seq:021}"),
    };
    let record = stream::encode(&change, "meli-radar", "sa-east-1", item.snapshot.taken_at).unwrap();
    // In Lambda's member order (`events/trend-scorer/*.json`): `eventName` before `dynamodb`, which
    // the reader must keep the image it read for (`EventRecord`'s serializer puts `dynamodb` first).
    let serde_json::Value::Object(mut fields) = serde_json::to_value(&record).unwrap() else { unreachable!() };
    let mut ordered = serde_json::Map::new();
    for name in ["eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb", "eventSourceARN"] {
        if let Some(v) = fields.shift_remove(name) {
            ordered.insert(name.to_string(), v);
        }
    }
    ordered.extend(fields);
    serde_json::to_string(&ordered).unwrap()
}

/// Decodes a stream record into the snapshot, as the Lambda does: read in one pass by our own
/// reader (`stream::batch`, the Lambda's `BodyLayer`), the new image straight into the snapshot.
fn decode_record(json: &str) -> Snapshot {
    let record = stream::batch::read_record(json).unwrap();
    record.snapshot_insert().unwrap().unwrap()
}

/// The same through serde_json (`RawRecord`: the images kept as raw JSON, then read), the path the
/// Lambda took before session 11 and still takes for a body the reader declines; printed for comparison.
fn decode_record_via_serde(json: &str) -> Snapshot {
    let record: RawRecord = serde_json::from_str(json).unwrap();
    record.snapshot_insert().unwrap().unwrap()
}

/// The same through the `aws_lambda_events` record (attribute values, then a JSON value tree), the
/// path the Lambda took before; printed for comparison.
fn decode_record_via_attribute_values(json: &str) -> Snapshot {
    let record: EventRecord = serde_json::from_str(json).unwrap();
    record.snapshot_insert().unwrap().unwrap()
}

/// The stream: snapshot inserts in time order, interleaved across categories; and the products'
/// names, as their `META` items hold them (the snapshot items do not).
fn generate() -> (Vec<String>, NameMap) {
    let mut rng = Rng(42);
    let t0 = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let mut lists: Vec<Vec<u64>> = (0..CATEGORIES).map(|_| (1..=20).collect()).collect();
    let mut prices: Vec<HashMap<u64, f64>> = vec![HashMap::new(); CATEGORIES];
    let mut reviews: Vec<HashMap<u64, u64>> = vec![HashMap::new(); CATEGORIES];
    let mut out = Vec::with_capacity(CATEGORIES * SNAPSHOTS_PER_CATEGORY);
    let mut product_names = NameMap::default();
    for h in 0..SNAPSHOTS_PER_CATEGORY {
        for (c, list) in lists.iter_mut().enumerate() {
            // A few swaps, sometimes a jump, sometimes an entrant from the pool.
            for _ in 0..rng.below(3) {
                let i = rng.below(19) as usize;
                list.swap(i, i + 1);
            }
            if rng.below(4) == 0 {
                let from = rng.below(20) as usize;
                let to = rng.below(20) as usize;
                let x = list.remove(from);
                list.insert(to, x);
            }
            if rng.below(3) == 0 {
                let candidate = 1 + rng.below(POOL);
                if !list.contains(&candidate) {
                    let at = rng.below(20) as usize;
                    list[at] = candidate;
                }
            }
            let category = CategoryId::parse(&format!("MLB{}", 1000 + c)).unwrap();
            let entries = list
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    let id = EntryId::parse(&format!("MLB{}{:03}", 1000 + c, n)).unwrap();
                    let mut e = SnapshotEntry::bare(Position::new(i as i64 + 1).unwrap(), id, EntryType::Product);
                    let p = prices[c].entry(*n).or_insert(100.0 + (*n as f64) * 7.0);
                    if rng.below(20) == 0 {
                        // In cents, as the API gives prices (`13999`, `280` in testdata/meli-fixtures):
                        // a float product such as `134.39999999999998` is never one.
                        *p = (*p * (0.8 + (rng.below(40) as f64) / 100.0) * 100.0).round() / 100.0;
                    }
                    let r = reviews[c].entry(*n).or_insert(50 * n);
                    *r += rng.below(4);
                    e.title = Some(format!("Produto {n} da categoria {c}"));
                    e.permalink = Some(format!("https://www.mercadolivre.com.br/p/MLB{}{:03}", 1000 + c, n));
                    e.price = Some(*p);
                    e.currency = Some("BRL".into());
                    e.reviews_total = Some(*r);
                    if let Some(n) = Names::of(&e) {
                        product_names.insert(e.id.clone(), n);
                    }
                    e
                })
                .collect();
            let s = Snapshot {
                site: SiteId::MLB,
                category,
                taken_at: t0 + Duration::hours(h as i64),
                entries,
                fetch: Default::default(),
            };
            out.push(stream_record(&SnapshotItem::new(s, 400), out.len()));
        }
    }
    (out, product_names)
}

#[derive(Default)]
struct CategoryState {
    /// The `SCORE` item as stored (windowed).
    stored: Option<String>,
    /// The state as the instance wrote it, its last write the item's `state` attribute (warm:
    /// `score_step::StateCache`, which holds no other copy of the attribute).
    held: Option<Box<ListState>>,
    /// Everything so far (naive).
    history: Vec<Snapshot>,
    fired: Vec<FiredEvent>,
}

#[derive(Default, Debug, PartialEq)]
struct Totals {
    decode: StdDuration,
    /// Of `decode`: the snapshot record alone (the rest is the state).
    decode_record: StdDuration,
    score: StdDuration,
    plan: StdDuration,
    /// Of `plan`: the event items (and anything else `plan_writes` plans), then merging the
    /// snapshot into the state (the rest is serializing the state item).
    plan_items: StdDuration,
    absorb: StdDuration,
    events: usize,
    suppressed: usize,
    items: usize,
    momentum: f64,
    state_bytes: usize,
    /// The state item's JSON (windowed, which stores it so).
    item_bytes: usize,
    /// The decoded state's memory (`ListState::heap_bytes`), summed over every 100th record.
    state_heap: usize,
    /// Records seen, and the ones `state_heap` sampled.
    sampled: usize,
    heap_samples: usize,
    /// The lists' states as the run leaves them, hashed in the lists' order, each as the whole
    /// encoder writes it (untimed; 0 for the naive run, which keeps none): the warm writer keeps
    /// references to columns the lookback dropped (state format 4), so warm and cold write other
    /// bytes for the same state, and it is the states that must agree.
    final_states: u64,
    /// The records whose parts were timed (every [`BREAKDOWN_EVERY`]th): the parts above are theirs.
    timed: usize,
}

/// The breakdown's clocks read on one record in this many. Ten clock reads a record (~40–50 ns each
/// on this VM's TSC) were ~0.4 µs of the warm figure: the bench's own cost, not the scorer's. The
/// total is timed around the whole loop as before; the parts are the means of the timed records.
const BREAKDOWN_EVERY: usize = 16;

/// The warm path is run this many times and its median pass printed, with the fastest and the
/// slowest: on the 2-core VMs this was measured on, one pass differs from the next by up to ±20 %
/// (the host's noise), more than most changes to the scorer.
const WARM_PASSES: usize = 5;

/// The warm path is also run on the records of this many of the lists: what a record costs when
/// the states an instance holds stay in the processor's caches from one record of a list to the
/// next (100 states of ~29 KB do not, on the 2 MB of L2 a core of the machines measured has).
const RESIDENT_LISTS: usize = 10;

/// `WARM_PASSES` warm runs of `stream`, each checked by `check`: the median pass and its totals,
/// the fastest and the slowest pass.
fn warm_passes(
    stream: &[String],
    product_names: &NameMap,
    cfg: &SignalConfig,
    check: impl Fn(&Totals),
) -> (StdDuration, Totals, StdDuration, StdDuration) {
    let mut passes: Vec<(StdDuration, Totals)> = (0..WARM_PASSES)
        .map(|_| {
            let (d, w) = run(stream, product_names, cfg, Strategy::Warm);
            check(&w);
            (d, w)
        })
        .collect();
    passes.sort_by_key(|(d, _)| *d);
    let (fastest, slowest) = (passes[0].0, passes[WARM_PASSES - 1].0);
    let (median, totals) = passes.swap_remove(WARM_PASSES / 2);
    (median, totals, fastest, slowest)
}

/// The clock, on a timed record only.
fn clock(timed: bool) -> Option<Instant> {
    timed.then(Instant::now)
}

/// The time since `t`, zero on a record not timed.
fn since(t: Option<Instant>) -> StdDuration {
    t.map_or(StdDuration::ZERO, |t| t.elapsed())
}

/// FNV-1a for the harness's map of lists: the harness's own lookup, not the scorer's work, kept
/// small (SipHash twice a record was ~400 instructions of it).
#[derive(Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type Lists = HashMap<String, CategoryState, std::hash::BuildHasherDefault<Fnv>>;

#[derive(Clone, Copy, PartialEq)]
enum Strategy {
    /// The state read from its item for every record (a cold instance, or a cache miss).
    Windowed,
    /// The state the instance wrote for the list's previous record, held in memory decoded (a warm
    /// Lambda's `StateCache`): no read, no JSON, no decoding; the state is still encoded, the
    /// writer telling whether it is the one held (a replay writes nothing), and the item built for
    /// the write as the step hands it to the store (`ScoreStateItem::into_item`; the store's
    /// adapter serializes it, as it does the event items).
    Warm,
    Naive,
}

fn run(stream: &[String], product_names: &NameMap, cfg: &SignalConfig, strategy: Strategy) -> (StdDuration, Totals) {
    let mut states = Lists::default();
    let mut totals = Totals::default();
    let start = Instant::now();
    for (i, json) in stream.iter().enumerate() {
        let timed = i % BREAKDOWN_EVERY == 0;
        totals.timed += usize::from(timed);
        let t_decode = clock(timed);
        let snap = decode_record(json);
        totals.decode_record += since(t_decode);
        // Keyed by the category without allocating a key per record (the harness's own cost).
        if !states.contains_key(snap.category.as_str()) {
            states.insert(snap.category.to_string(), CategoryState::default());
        }
        let st = states.get_mut(snap.category.as_str()).expect("inserted above");
        let t = snap.taken_at;
        let mut held = false;
        // Boxed, as the step holds it (`score_step::StateCache`): moving the state is a pointer's copy.
        let mut state: Box<ListState> = match strategy {
            Strategy::Warm => match st.held.take() {
                Some(state) => {
                    held = true;
                    state
                }
                None => {
                    let mut s = Box::<ListState>::default();
                    s.rebuild_from(t, &[], &[], cfg);
                    s
                }
            },
            Strategy::Windowed => match &st.stored {
                Some(stored) => Box::new(serde_json::from_str::<ScoreStateItem>(stored).unwrap().state().unwrap()),
                None => {
                    let mut s = Box::<ListState>::default();
                    s.rebuild_from(t, &[], &[], cfg);
                    s
                }
            },
            Strategy::Naive => {
                let mut s = Box::<ListState>::default();
                s.rebuild_from(t, &st.history, &st.fired, cfg);
                s
            }
        };
        totals.decode += since(t_decode);

        let t_score = clock(timed);
        // The snapshot laid out against the state is kept for the merge, as the step does.
        let (mut scored, prepared) =
            signals::score_keeping(&snap, &ScoreContext { state: &state, calibration: None }, cfg);
        totals.score += since(t_score);

        let t_plan = clock(timed);
        // The events' names from the product items (the step reads them from the store: I/O, not
        // measured here).
        names::fill_events_from(&mut scored.events, product_names);
        let plan = plan_writes(&scored).unwrap();
        totals.plan_items += since(t_plan);
        let t_absorb = clock(timed);
        state.absorb_prepared(&snap, Some(prepared), &scored.products, &scored.events, cfg);
        totals.absorb += since(t_absorb);
        // The step writes through `new_reusing` (the columns written for the previous record that
        // did not change are not encoded again); a state decoded for this record has none.
        let (state_item, same) = if strategy == Strategy::Warm {
            ScoreStateItem::new_reusing(snap.site, &snap.category, &mut state)
        } else {
            (ScoreStateItem::new(snap.site, &snap.category, &state), false)
        };
        // The step's replay check (warm): nothing to write when the state did not change.
        assert!(!(held && same), "a record of the stream changed nothing");
        let state_bytes = state_item.state.len();
        // What the step hands the store: the item (warm); the windowed run keeps it as stored JSON
        // for its next record to read.
        let state_json = match strategy {
            Strategy::Warm => {
                black_box(state_item.into_item().unwrap());
                None
            }
            _ => Some(serde_json::to_string(&state_item).unwrap()),
        };
        totals.plan += since(t_plan);

        totals.events += scored.events.len();
        totals.suppressed += scored.suppressed;
        totals.items += plan.events.len() + 2;
        totals.momentum += scored.products.iter().map(|p| p.momentum).sum::<f64>();
        totals.state_bytes += state_bytes;
        totals.item_bytes += state_json.as_ref().map_or(0, String::len);
        // The bench's own statistic, not the scorer's work: sampled (every 100th record) so that
        // walking the state does not count in the timed loop.
        if totals.sampled % 100 == 0 {
            totals.state_heap += state.heap_bytes();
            totals.heap_samples += 1;
        }
        totals.sampled += 1;
        black_box(&plan);

        // What the next record of this category finds.
        match strategy {
            Strategy::Windowed => st.stored = state_json,
            Strategy::Warm => st.held = Some(state),
            Strategy::Naive => {
                st.fired.extend(scored.events.iter().map(|e| FiredEvent {
                    at: e.taken_at,
                    key_kind: e.key_kind.clone(),
                    product: e.product.clone(),
                }));
                st.history.push(snap);
            }
        }
    }
    let elapsed = start.elapsed();
    totals.final_states = final_states(&states, strategy);
    (elapsed, totals)
}

/// [`Totals::final_states`]. The warm run's states are also read back from the item text the
/// instance wrote last: what a cold instance would decode must be the state held.
fn final_states(states: &Lists, strategy: Strategy) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut names: Vec<&String> = states.keys().collect();
    names.sort();
    let mut h = std::hash::DefaultHasher::new();
    for name in names {
        let st = &states[name];
        let state = match strategy {
            Strategy::Windowed => {
                st.stored.as_deref().map(|j| serde_json::from_str::<ScoreStateItem>(j).unwrap().state().unwrap())
            }
            Strategy::Warm => st.held.as_ref().map(|state| {
                let read = ListState::from_stored(state.version, state.written_text()).unwrap();
                assert_eq!(read.encode(), state.encode(), "{name}: the item written does not decode to the state held");
                read
            }),
            Strategy::Naive => return 0,
        };
        (name, state.map(|s| s.encode())).hash(&mut h);
    }
    h.finish()
}

/// A digest of everything the warm path produces over the stream (every product's signals, the
/// category signals, the events, the event items planned and the state items), untimed: a change
/// meant to make the scorer faster must leave it as it was (`--digest`).
fn digest(stream: &[String], product_names: &NameMap, cfg: &SignalConfig) -> u64 {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: the same digest in every run of the same toolchain.
    let mut h = std::hash::DefaultHasher::new();
    let mut held: HashMap<String, ListState> = HashMap::new();
    for json in stream {
        let snap = decode_record(json);
        let mut state = held.remove(snap.category.as_str()).unwrap_or_else(|| {
            let mut s = ListState::default();
            s.rebuild_from(snap.taken_at, &[], &[], cfg);
            s
        });
        let (mut scored, prepared) =
            signals::score_keeping(&snap, &ScoreContext { state: &state, calibration: None }, cfg);
        names::fill_events_from(&mut scored.events, product_names);
        serde_json::to_string(&scored.products).unwrap().hash(&mut h);
        serde_json::to_string(&scored.signals).unwrap().hash(&mut h);
        serde_json::to_string(&scored.events).unwrap().hash(&mut h);
        scored.suppressed.hash(&mut h);
        for item in plan_writes(&scored).unwrap().events {
            serde_json::to_string(&item).unwrap().hash(&mut h);
        }
        state.absorb_prepared(&snap, Some(prepared), &scored.products, &scored.events, cfg);
        let (item, _) = ScoreStateItem::new_reusing(snap.site, &snap.category, &mut state);
        serde_json::to_string(&item).unwrap().hash(&mut h);
        held.insert(snap.category.to_string(), state);
    }
    h.finish()
}

fn main() {
    let cfg = SignalConfig::default();
    let t = Instant::now();
    let (stream, product_names) = generate();
    let bytes: usize = stream.iter().map(String::len).sum();
    println!(
        "scorer bench: {} records ({} categories x {} hourly snapshots), {:.0} bytes/record (stream JSON), generated in {:.1?}",
        stream.len(),
        CATEGORIES,
        SNAPSHOTS_PER_CATEGORY,
        bytes as f64 / stream.len() as f64,
        t.elapsed()
    );

    // Decode alone, for the breakdown, and through the earlier path.
    let start = Instant::now();
    for json in &stream {
        black_box(decode_record(json));
    }
    let decode = start.elapsed();
    let start = Instant::now();
    for json in &stream {
        black_box(decode_record_via_attribute_values(json));
    }
    let decode_old = start.elapsed();
    let start = Instant::now();
    for json in &stream {
        black_box(decode_record_via_serde(json));
    }
    let decode_serde = start.elapsed();

    if std::env::args().any(|a| a == "--digest") {
        println!("  output digest: {:016x}", digest(&stream, &product_names, &cfg));
        return;
    }
    let n = stream.len() as f64;
    let per = |d: StdDuration| d.as_secs_f64() * 1e6 / n;
    // A part of the breakdown: its mean over the records timed.
    let part = |t: &Totals, d: StdDuration| d.as_secs_f64() * 1e6 / t.timed.max(1) as f64;
    if std::env::args().any(|a| a == "--warm-only") {
        // For profilers: the warm path alone.
        let (warm, _) = run(&stream, &product_names, &cfg, Strategy::Warm);
        println!("  warm (state held by the instance): {:7.2} µs/record", per(warm));
        return;
    }
    let (windowed, a) = run(&stream, &product_names, &cfg, Strategy::Windowed);
    println!(
        "  windowed breakdown (parts timed on every 16th record): decode {:.2} (record and state) + score {:.2} + plan {:.2} (events, state) µs/record; state item {:.0} bytes/record",
        part(&a, a.decode),
        part(&a, a.score),
        part(&a, a.plan),
        a.item_bytes as f64 / n
    );
    println!(
        "    decode: record {:.2} + state {:.2}; plan: items {:.2} + merge {:.2} + state item {:.2} µs/record",
        part(&a, a.decode_record),
        part(&a, a.decode - a.decode_record),
        part(&a, a.plan_items),
        part(&a, a.absorb),
        part(&a, a.plan - a.plan_items - a.absorb)
    );
    if std::env::args().any(|a| a == "--windowed-only") {
        println!("  windowed (decode+score+plan):     {:8.2} µs/record", per(windowed));
        return;
    }
    // The warm path several times over: its median is the figure, with the fastest and slowest pass.
    let (warm, w, fastest, slowest) = warm_passes(&stream, &product_names, &cfg, |w| {
        assert_eq!((a.events, a.suppressed, a.items), (w.events, w.suppressed, w.items), "warm and cold disagree");
        assert_eq!(a.final_states, w.final_states, "warm and cold leave different states");
    });
    // The same lists' records, of the first RESIDENT_LISTS lists only: each list's work is the
    // same, but fewer states come round between two records of a list.
    let resident: Vec<String> = stream
        .iter()
        .filter(|json| {
            let n: usize = decode_record(json).category.as_str()[3..].parse().unwrap();
            n < 1000 + RESIDENT_LISTS
        })
        .cloned()
        .collect();
    let (resident_warm, _, _, _) = warm_passes(&resident, &product_names, &cfg, |_| {});
    let per_resident = resident_warm.as_secs_f64() * 1e6 / resident.len() as f64;
    println!(
        "  a decoded state held in memory (warm): {:.1} KB (mean of every 100th record), its item {:.1} KB (mean over the records); the state's base64 {:.0} bytes warm, {:.0} cold",
        w.state_heap as f64 / w.heap_samples.max(1) as f64 / 1024.0,
        a.item_bytes as f64 / n / 1024.0,
        w.state_bytes as f64 / n,
        a.state_bytes as f64 / n
    );
    let (naive, b) = run(&stream, &product_names, &cfg, Strategy::Naive);
    assert_eq!((a.events, a.suppressed, a.items), (b.events, b.suppressed, b.items), "strategies disagree");
    assert!((a.momentum - b.momentum).abs() < 1e-6 * a.momentum.abs().max(1.0), "strategies disagree on momentum");

    let rate = |d: StdDuration| n / d.as_secs_f64();
    println!(
        "  decode only:                      {:8.2} µs/record (through serde_json and RawRecord: {:.2}; through attribute values and a JSON tree: {:.2}, {:.1}x)",
        per(decode),
        per(decode_serde),
        per(decode_old),
        decode_old.as_secs_f64() / decode.as_secs_f64()
    );
    println!("  windowed (decode+score+plan):     {:8.2} µs/record  {:>10.0} records/s", per(windowed), rate(windowed));
    println!(
        "  warm (state held by the instance): {:7.2} µs/record  {:>10.0} records/s (record {:.2} + score {:.2} + plan {:.2}; median of {WARM_PASSES} passes, fastest {:.2}, slowest {:.2})",
        per(warm),
        rate(warm),
        part(&w, w.decode_record),
        part(&w, w.score),
        part(&w, w.plan),
        per(fastest),
        per(slowest)
    );
    println!(
        "  warm, {RESIDENT_LISTS} lists only ({} records):    {:7.2} µs/record  {:>10.0} records/s ({:.0} % of the {CATEGORIES} lists' figure: the states held stay in cache between two records of a list)",
        resident.len(),
        per_resident,
        1e6 / per_resident,
        100.0 * per_resident / per(warm)
    );
    println!("  naive, whole history each time:   {:8.2} µs/record  {:>10.0} records/s", per(naive), rate(naive));
    println!("  ratio naive / windowed:           {:8.1}x", naive.as_secs_f64() / windowed.as_secs_f64());
    println!("  ratio naive / warm:               {:8.1}x", naive.as_secs_f64() / warm.as_secs_f64());
    println!(
        "  output: {} events ({} held back by re-arm), {} items planned ({:.1} per record)",
        a.events,
        a.suppressed,
        a.items,
        a.items as f64 / n
    );
}
