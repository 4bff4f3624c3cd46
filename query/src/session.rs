//! [`session`]: a DataFusion `SessionContext` over recordings.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::catalog::TableProvider;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::context::SessionContext;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::optimizer::{Optimizer, OptimizerRule};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_optimizer::optimizer::PhysicalOptimizer;
use datafusion::prelude::SessionConfig;

use crate::QueryError;
use crate::build_side::BuildOnRecursiveResult;
use crate::cache::CacheRecursiveInvariants;
use crate::distinct::CountBesideDistinct;
use crate::like::LikePrefilter;
use crate::pushdown::SelectivePushdown;
use crate::share_work::ShareScanWork;
use crate::source::{self, Input, SEGMENT_GLOB};
use crate::view_eq::ViewEquality;

/// How [`session`] builds its context.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Read every segment's footer up front so a corrupt one is named before
    /// any query runs (default on; a few small reads per segment).
    pub validate_segments: bool,
    /// Parallelism of scans and joins; `None` uses every core.
    pub target_partitions: Option<usize>,
    /// Time zone for `now()` and casts to `TIMESTAMPTZ` (`None`: UTC). Stored
    /// times are UTC whatever this says.
    pub time_zone: Option<String>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            validate_segments: true,
            target_partitions: None,
            time_zone: None,
        }
    }
}

/// The session configuration every Hindsight query runs with: page index and
/// bloom filters on; Parquet filter pushdown (row filters, reordered by cost)
/// off by default and turned on per scan by
/// [`SelectivePushdown`](crate::pushdown::SelectivePushdown) for filters that
/// look for a needle. `DATAFUSION_*` environment variables override any
/// setting.
pub fn session_config(options: &SessionOptions) -> SessionConfig {
    let mut config = SessionConfig::new()
        .with_information_schema(true)
        .with_default_catalog_and_schema("hindsight", "public");
    if let Some(n) = options.target_partitions {
        config = config.with_target_partitions(n.max(1));
    }
    let o = config.options_mut();
    o.execution.parquet.pushdown_filters = false;
    o.execution.parquet.reorder_filters = true;
    o.execution.parquet.enable_page_index = true;
    o.execution.parquet.bloom_filter_on_read = true;
    o.execution.listing_table_ignore_subdirectory = false;
    o.sql_parser.enable_ident_normalization = true;
    o.execution.time_zone = Some(options.time_zone.clone().unwrap_or_else(|| "+00:00".into()));
    apply_env_overrides(o);
    config
}

/// Lets `DATAFUSION_*` environment variables override any setting, as
/// datafusion-cli does: `DATAFUSION_EXECUTION_BATCH_SIZE=32768` sets
/// `datafusion.execution.batch_size`. A value that does not parse is
/// reported on stderr and ignored.
fn apply_env_overrides(o: &mut datafusion::config::ConfigOptions) {
    let keys: Vec<String> = o.entries().into_iter().map(|e| e.key).collect();
    for key in keys {
        let env = key.to_uppercase().replace('.', "_");
        if let Ok(value) = std::env::var(&env)
            && let Err(e) = o.set(&key, &value)
        {
            eprintln!("warning: ignoring {env}={value}: {e}");
        }
    }
}

/// Opens recordings for SQL.
///
/// Each of `paths` is a recording directory, a tree of recordings (Hive
/// partition directories such as `host=web-1/date=2026-11-20/` become columns
/// of `events`), a single segment file, or an `s3://bucket/prefix` URL. The
/// context has the `events` table (the format's explicit schema plus partition
/// columns), the forensic views ([`crate::views`]), the scalar functions
/// ([`crate::udf`]) and the table functions `descendants(pid)` and
/// `ancestors(pid)`. Every store is opened read-only.
pub async fn session(
    paths: &[impl AsRef<str>],
    options: SessionOptions,
) -> Result<SessionContext, QueryError> {
    let mut inputs = Vec::new();
    for path in paths {
        let input = source::resolve(path.as_ref()).await?;
        if options.validate_segments {
            source::validate(&input).await?;
        }
        inputs.push(input);
    }
    let ctx = SessionContext::new_with_state(
        SessionStateBuilder::new()
            .with_config(session_config(&options))
            .with_default_features()
            .with_optimizer_rules(optimizer_rules())
            .with_physical_optimizer_rules(physical_optimizer_rules())
            .build(),
    );
    for input in &inputs {
        // A local store lists only the segments found by `resolve` (of every
        // input on it), taken in one snapshot with the spool rows read in
        // memory ([`crate::snapshot`]); an object store is listed as it is
        // (but for Parquet files in directories below `events/`).
        let store: Arc<dyn datafusion::object_store::ObjectStore> =
            if input.store_url.scheme() == "file" {
                let on_store = || inputs.iter().filter(|i| i.store_url == input.store_url);
                let segments = on_store()
                    .flat_map(|i| i.segments.iter().map(|m| m.location.clone()))
                    .collect();
                let roots = on_store()
                    .filter(|i| !i.single_file)
                    .filter_map(|i| {
                        datafusion::object_store::path::Path::from_url_path(i.root_url.path()).ok()
                    })
                    .collect();
                Arc::new(crate::snapshot::SnapshotStore::new(
                    Arc::clone(&input.store),
                    segments,
                    roots,
                ))
            } else {
                let roots = inputs
                    .iter()
                    .filter(|i| i.store_url == input.store_url && !i.single_file)
                    .filter_map(|i| {
                        datafusion::object_store::path::Path::from_url_path(i.root_url.path()).ok()
                    })
                    .collect();
                Arc::new(crate::snapshot::SnapshotStore::segments_only(
                    Arc::clone(&input.store),
                    roots,
                ))
            };
        ctx.register_object_store(&input.store_url, store);
    }
    register_events(&ctx, &inputs).await?;
    crate::udf::register(&ctx);
    crate::views::register(&ctx).await?;
    crate::tablefn::register(&ctx).await?;
    Ok(ctx)
}

/// DataFusion's optimizer rules plus Hindsight's: [`CountBesideDistinct`]
/// right before the rule it prepares for, [`LikePrefilter`] at the end.
pub fn optimizer_rules() -> Vec<Arc<dyn OptimizerRule + Send + Sync>> {
    let mut rules = Optimizer::new().rules;
    let at = rules
        .iter()
        .position(|r| r.name() == crate::distinct::BEFORE_RULE)
        .unwrap_or(0);
    rules.insert(at, Arc::new(CountBesideDistinct));
    rules.push(Arc::new(LikePrefilter));
    rules
}

/// DataFusion's physical optimizer rules plus [`BuildOnRecursiveResult`]
/// right after its join selection and [`CacheRecursiveInvariants`] right
/// before the post-optimization filter pushdown (so no dynamic filter
/// reaches a cached subtree), and [`SelectivePushdown`],
/// [`crate::cheap_first::CheapFirst`], [`ViewEquality`] and [`ShareScanWork`]
/// last.
pub fn physical_optimizer_rules() -> Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> {
    let mut rules = PhysicalOptimizer::new().rules;
    let at = rules
        .iter()
        .position(|r| r.name() == crate::cache::BEFORE_RULE)
        .unwrap_or(rules.len());
    rules.insert(at, Arc::new(CacheRecursiveInvariants));
    let after = rules
        .iter()
        .position(|r| r.name() == crate::build_side::AFTER_RULE)
        .map_or(0, |i| i + 1);
    rules.insert(after, Arc::new(BuildOnRecursiveResult));
    rules.push(Arc::new(SelectivePushdown));
    rules.push(Arc::new(crate::cheap_first::CheapFirst));
    rules.push(Arc::new(ViewEquality));
    rules.push(Arc::new(ShareScanWork));
    rules.push(Arc::new(crate::group_codes::GroupOnCodes));
    rules
}

/// Registers `events`: one listing table when every input has the same
/// partition keys, otherwise a `UNION ALL` view over one table per layout
/// with missing partition columns as NULL.
async fn register_events(ctx: &SessionContext, inputs: &[Input]) -> Result<(), QueryError> {
    let mut groups: BTreeMap<Vec<String>, Vec<&Input>> = BTreeMap::new();
    for input in inputs {
        groups
            .entry(input.partition_keys.clone())
            .or_default()
            .push(input);
    }
    if groups.is_empty() {
        return Err(QueryError::Sql("no PATH given".into()));
    }
    if groups.len() == 1 {
        let (keys, group) = groups.into_iter().next().expect("one group");
        let table = events_table(ctx, "events", &keys, &group).await?;
        ctx.register_table("events", table)?;
        return Ok(());
    }
    let all_keys: Vec<String> = {
        let mut seen = Vec::new();
        for keys in groups.keys() {
            for k in keys {
                if !seen.contains(k) {
                    seen.push(k.clone());
                }
            }
        }
        seen
    };
    let columns: Vec<String> = hindsight_format::COLUMNS
        .iter()
        .map(|c| format!("\"{}\"", c.name))
        .collect();
    let mut selects = Vec::new();
    for (i, (keys, group)) in groups.into_iter().enumerate() {
        let name = format!("events_part_{i}");
        ensure_internal_schema(ctx);
        let table = events_table(ctx, &name, &keys, &group).await?;
        ctx.register_table(format!("hindsight.internal.{name}").as_str(), table)?;
        let parts: Vec<String> = all_keys
            .iter()
            .map(|k| {
                if keys.contains(k) {
                    format!("\"{k}\"")
                } else {
                    format!("CAST(NULL AS VARCHAR) AS \"{k}\"")
                }
            })
            .collect();
        selects.push(format!(
            "SELECT {}, {} FROM hindsight.internal.{name}",
            columns.join(", "),
            parts.join(", ")
        ));
    }
    ctx.sql(&format!(
        "CREATE VIEW events AS {}",
        selects.join(" UNION ALL ")
    ))
    .await?;
    Ok(())
}

/// The rows of inputs that share partition keys: their segments, and the
/// spool rows of their unfinished local recordings ([`crate::spool`]).
async fn events_table(
    ctx: &SessionContext,
    name: &str,
    keys: &[String],
    inputs: &[&Input],
) -> Result<Arc<dyn TableProvider>, QueryError> {
    let segments: Arc<dyn TableProvider> = listing_table(ctx, keys, inputs)?;
    let unfinished: Vec<_> = inputs.iter().flat_map(|i| &i.unfinished).collect();
    if unfinished.iter().all(|u| u.rows.is_empty()) {
        return Ok(segments);
    }
    ensure_internal_schema(ctx);
    crate::spool::with_spool_rows(ctx, name, segments, &unfinished).await
}

fn ensure_internal_schema(ctx: &SessionContext) {
    use datafusion::catalog::MemorySchemaProvider;
    if let Some(catalog) = ctx.catalog("hindsight")
        && catalog.schema("internal").is_none()
    {
        let _ = catalog.register_schema("internal", Arc::new(MemorySchemaProvider::new()));
    }
}

/// The schema `events` is scanned with: the format's explicit schema, its
/// strings read as `Utf8View` (DataFusion's own choice for Parquet: strings
/// decoded from dictionary pages point into the page instead of being copied,
/// and comparisons see an inline prefix first), without the format-version
/// metadata (plans that combine scans, such as recursive CTEs and unions,
/// compare schemas including metadata).
pub fn scan_schema() -> Arc<datafusion::arrow::datatypes::Schema> {
    let views = hindsight_format::schema::with_string_views(&hindsight_format::events_schema());
    Arc::new(datafusion::arrow::datatypes::Schema::new(
        views.fields().clone(),
    ))
}

/// One listing table over inputs that share partition keys.
fn listing_table(
    ctx: &SessionContext,
    keys: &[String],
    inputs: &[&Input],
) -> Result<Arc<ListingTable>, QueryError> {
    let state = ctx.state();
    let format = ParquetFormat::default()
        .with_options(state.table_options().parquet.clone())
        .with_enable_pruning(true);
    let listing_options = ListingOptions::new(Arc::new(format))
        .with_file_extension(".parquet")
        .with_table_partition_cols(
            keys.iter()
                .map(|k| (k.clone(), DataType::Utf8))
                .collect::<Vec<_>>(),
        );
    let mut urls = Vec::new();
    for input in inputs {
        let glob = if input.single_file {
            None
        } else {
            Some(glob::Pattern::new(SEGMENT_GLOB).expect("static glob"))
        };
        urls.push(ListingTableUrl::try_new(input.root_url.clone(), glob)?);
    }
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(listing_options)
        .with_schema(scan_schema());
    Ok(Arc::new(ListingTable::try_new(config)?))
}
