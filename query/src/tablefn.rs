//! Process ancestry: the `process_tree` table and the table functions
//! `descendants(pid [, host_name])` and `ancestors(pid [, host_name])`.
//!
//! All three read `(host_name, boot_id, pid, parent_pid, exe)` from the
//! lifecycle rows of `events` once per query and walk the parent links in memory, so a
//! tree costs one scan of the lifecycle rows however deep it is.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use datafusion::arrow::array::{
    Array, ArrayRef, Int32Array, RecordBatch, StringArray, UInt32Array,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{DataFusionError, Result, ScalarValue, plan_err};
use datafusion::datasource::TableType;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::execution::context::{SessionContext, SessionState};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;

use crate::QueryError;

/// Which rows a [`TreeTable`] yields.
#[derive(Debug, Clone, PartialEq)]
enum Mode {
    /// Every (process, ancestor) pair, the process itself at depth 0.
    All,
    /// `pid` and everything below it.
    Descendants { pid: i32, host: Option<String> },
    /// `pid` and everything above it.
    Ancestors { pid: i32, host: Option<String> },
}

/// One process as the tree sees it.
#[derive(Debug, Clone)]
struct Node {
    host: String,
    boot: String,
    pid: i32,
    parent: Option<i32>,
    exe: Option<String>,
}

/// The schema of `process_tree`.
fn tree_schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| {
        Arc::new(Schema::new(vec![
            Field::new("host_name", DataType::Utf8, false),
            Field::new("boot_id", DataType::Utf8, false),
            Field::new("pid", DataType::Int32, false),
            Field::new("exe", DataType::Utf8, true),
            Field::new("ancestor_pid", DataType::Int32, false),
            Field::new("ancestor_exe", DataType::Utf8, true),
            Field::new("depth", DataType::UInt32, false),
        ]))
    })
    .clone()
}

/// The schema of `descendants(...)` and `ancestors(...)`.
fn family_schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| {
        Arc::new(Schema::new(vec![
            Field::new("host_name", DataType::Utf8, false),
            Field::new("boot_id", DataType::Utf8, false),
            Field::new("pid", DataType::Int32, false),
            Field::new("parent_pid", DataType::Int32, true),
            Field::new("exe", DataType::Utf8, true),
            Field::new("depth", DataType::UInt32, false),
        ]))
    })
    .clone()
}

/// A table computed from `processes` when scanned.
#[derive(Debug)]
struct TreeTable {
    mode: Mode,
}

#[async_trait]
impl TableProvider for TreeTable {
    fn schema(&self) -> SchemaRef {
        match self.mode {
            Mode::All => tree_schema(),
            _ => family_schema(),
        }
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let state = state
            .as_any()
            .downcast_ref::<SessionState>()
            .ok_or_else(|| DataFusionError::Internal("process tree needs a SessionState".into()))?;
        let nodes = load_nodes(state).await?;
        let batch = match &self.mode {
            Mode::All => closure(&nodes)?,
            Mode::Descendants { pid, host } => family(&nodes, *pid, host.as_deref(), true)?,
            Mode::Ancestors { pid, host } => family(&nodes, *pid, host.as_deref(), false)?,
        };
        let exec =
            MemorySourceConfig::try_new_exec(&[vec![batch]], self.schema(), projection.cloned())?;
        Ok(exec)
    }
}

/// The lifecycle rows the tree reads: one row per fork, exec, exit and
/// start-of-recording snapshot of a process (not of its threads), as in the
/// `processes` view.
const LIFECYCLE_SQL: &str = "SELECT host_name, boot_id, process_pid, process_parent_pid, \
     process_executable, seq, time_ns FROM events \
     WHERE event_kind IN ('process_fork', 'process_exec', 'process_exit', 'process_snapshot') \
     AND process_pid = thread_id";

/// Reads the parent links: per (host, boot, pid) the last non-null parent
/// and executable in (`time_ns`, `seq`) order (`seq` starts again in each
/// recording of a host and boot), exactly the `parent_pid` and `exe` of the
/// `processes` view. Folded here in one pass over the lifecycle rows instead
/// of through the view's ordered aggregates, which sort their input.
async fn load_nodes(state: &SessionState) -> Result<Vec<Node>> {
    use datafusion::arrow::array::UInt64Array;
    use futures::StreamExt;

    /// ((time_ns, seq) of the value, value) of the last non-null parent and
    /// executable.
    #[derive(Default)]
    struct Last {
        parent: Option<((i64, u64), i32)>,
        exe: Option<((i64, u64), String)>,
    }
    let ctx = SessionContext::new_with_state(state.clone());
    let mut stream = ctx.sql(LIFECYCLE_SQL).await?.execute_stream().await?;
    let mut hosts: Vec<(String, String)> = Vec::new();
    let mut last: HashMap<(usize, i32), Last> = HashMap::new();
    while let Some(b) = stream.next().await {
        let b = b?;
        let s = |i: usize| -> Result<StringArray> { crate::udf::utf8_array(b.column(i)) };
        let (host, boot, exe) = (s(0)?, s(1)?, s(4)?);
        let pid = cast_i32(b.column(2))?;
        let parent = cast_i32(b.column(3))?;
        let seq_cast = datafusion::arrow::compute::cast(b.column(5), &DataType::UInt64)?;
        let seq = seq_cast
            .as_any()
            .downcast_ref::<UInt64Array>()
            .expect("UInt64");
        let time_cast = datafusion::arrow::compute::cast(b.column(6), &DataType::Int64)?;
        let time = time_cast
            .as_any()
            .downcast_ref::<datafusion::arrow::array::Int64Array>()
            .expect("Int64");
        for i in 0..b.num_rows() {
            let (h, bo) = (host.value(i), boot.value(i));
            let hb = match hosts.iter().position(|(x, y)| x == h && y == bo) {
                Some(k) => k,
                None => {
                    hosts.push((h.to_string(), bo.to_string()));
                    hosts.len() - 1
                }
            };
            let entry = last.entry((hb, pid.value(i))).or_default();
            let q = (time.value(i), seq.value(i));
            if !parent.is_null(i) && entry.parent.is_none_or(|(at, _)| at < q) {
                entry.parent = Some((q, parent.value(i)));
            }
            if !exe.is_null(i) && entry.exe.as_ref().is_none_or(|(at, _)| *at < q) {
                entry.exe = Some((q, exe.value(i).to_string()));
            }
        }
    }
    let mut nodes: Vec<Node> = last
        .into_iter()
        .map(|((hb, pid), l)| Node {
            host: hosts[hb].0.clone(),
            boot: hosts[hb].1.clone(),
            pid,
            parent: l.parent.map(|(_, p)| p),
            exe: l.exe.map(|(_, e)| e),
        })
        .collect();
    nodes.sort_by(|a, b| (&a.host, &a.boot, a.pid).cmp(&(&b.host, &b.boot, b.pid)));
    Ok(nodes)
}

fn cast_i32(a: &ArrayRef) -> Result<Int32Array> {
    let c = datafusion::arrow::compute::cast(a, &DataType::Int32)?;
    Ok(c.as_any()
        .downcast_ref::<Int32Array>()
        .expect("Int32")
        .clone())
}

/// Longest parent chain followed (cycles from pid reuse end where a process
/// repeats).
const MAX_DEPTH: u32 = 256;

type Key<'a> = (&'a str, &'a str, i32);

fn index(nodes: &[Node]) -> HashMap<Key<'_>, &Node> {
    nodes
        .iter()
        .map(|n| ((n.host.as_str(), n.boot.as_str(), n.pid), n))
        .collect()
}

/// Every (process, ancestor, depth) triple.
fn closure(nodes: &[Node]) -> Result<RecordBatch> {
    let by_key = index(nodes);
    let mut cols = TreeColumns::default();
    for n in nodes {
        let mut cur = Some(n);
        let mut depth = 0u32;
        // A parent cycle (pid reuse) ends at the first process seen again.
        let mut seen = std::collections::HashSet::new();
        while let Some(a) = cur.filter(|a| seen.insert(a.pid)) {
            cols.push(n, a, depth);
            depth += 1;
            if depth > MAX_DEPTH {
                break;
            }
            cur = a
                .parent
                .filter(|p| *p != a.pid)
                .and_then(|p| by_key.get(&(n.host.as_str(), n.boot.as_str(), p)).copied());
        }
    }
    cols.finish()
}

#[derive(Default)]
struct TreeColumns {
    host: Vec<String>,
    boot: Vec<String>,
    pid: Vec<i32>,
    exe: Vec<Option<String>>,
    anc: Vec<i32>,
    anc_exe: Vec<Option<String>>,
    depth: Vec<u32>,
}

impl TreeColumns {
    fn push(&mut self, n: &Node, a: &Node, depth: u32) {
        self.host.push(n.host.clone());
        self.boot.push(n.boot.clone());
        self.pid.push(n.pid);
        self.exe.push(n.exe.clone());
        self.anc.push(a.pid);
        self.anc_exe.push(a.exe.clone());
        self.depth.push(depth);
    }

    fn finish(self) -> Result<RecordBatch> {
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(self.host)),
            Arc::new(StringArray::from(self.boot)),
            Arc::new(Int32Array::from(self.pid)),
            Arc::new(StringArray::from(self.exe)),
            Arc::new(Int32Array::from(self.anc)),
            Arc::new(StringArray::from(self.anc_exe)),
            Arc::new(UInt32Array::from(self.depth)),
        ];
        Ok(RecordBatch::try_new(tree_schema(), cols)?)
    }
}

/// `pid` plus its descendants (or ancestors), on one host or every host.
fn family(nodes: &[Node], pid: i32, host: Option<&str>, down: bool) -> Result<RecordBatch> {
    let by_key = index(nodes);
    let mut children: HashMap<Key<'_>, Vec<&Node>> = HashMap::new();
    for n in nodes {
        if let Some(p) = n.parent.filter(|p| *p != n.pid) {
            children
                .entry((n.host.as_str(), n.boot.as_str(), p))
                .or_default()
                .push(n);
        }
    }
    let mut out: Vec<(&Node, u32)> = Vec::new();
    for root in nodes
        .iter()
        .filter(|n| n.pid == pid && host.is_none_or(|h| h == n.host))
    {
        // A parent cycle (pid reuse) ends at the first process seen again.
        let mut seen = std::collections::HashSet::new();
        if down {
            let mut stack = vec![(root, 0u32)];
            while let Some((n, d)) = stack.pop() {
                if !seen.insert((n.boot.as_str(), n.pid)) {
                    continue;
                }
                out.push((n, d));
                if d >= MAX_DEPTH {
                    continue;
                }
                if let Some(kids) = children.get(&(n.host.as_str(), n.boot.as_str(), n.pid)) {
                    for k in kids.iter().rev() {
                        stack.push((k, d + 1));
                    }
                }
            }
        } else {
            let mut cur = Some(root);
            let mut d = 0;
            while let Some(n) = cur.filter(|n| seen.insert((n.boot.as_str(), n.pid))) {
                out.push((n, d));
                d += 1;
                if d > MAX_DEPTH {
                    break;
                }
                cur = n
                    .parent
                    .filter(|p| *p != n.pid)
                    .and_then(|p| by_key.get(&(n.host.as_str(), n.boot.as_str(), p)).copied());
            }
        }
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            out.iter().map(|(n, _)| &n.host),
        )),
        Arc::new(StringArray::from_iter_values(
            out.iter().map(|(n, _)| &n.boot),
        )),
        Arc::new(Int32Array::from_iter_values(out.iter().map(|(n, _)| n.pid))),
        Arc::new(Int32Array::from_iter(out.iter().map(|(n, _)| n.parent))),
        Arc::new(StringArray::from_iter(
            out.iter().map(|(n, _)| n.exe.as_deref()),
        )),
        Arc::new(UInt32Array::from_iter_values(out.iter().map(|(_, d)| *d))),
    ];
    Ok(RecordBatch::try_new(family_schema(), cols)?)
}

/// `descendants(pid [, host_name])` or `ancestors(pid [, host_name])`.
struct FamilyFunction {
    down: bool,
}

impl fmt::Debug for FamilyFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.down {
            "descendants"
        } else {
            "ancestors"
        })
    }
}

impl TableFunctionImpl for FamilyFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let name = if self.down {
            "descendants"
        } else {
            "ancestors"
        };
        let exprs = args.exprs();
        let usage = || format!("usage: {name}(pid) or {name}(pid, 'host_name')");
        let pid = match exprs.first() {
            Some(Expr::Literal(v, _)) => match v.cast_to(&DataType::Int32) {
                Ok(ScalarValue::Int32(Some(p))) => p,
                // An integer, but not a pid (pids are 32-bit).
                _ if v.data_type().is_integer() => {
                    return plan_err!(
                        "{name}: pid {v} is out of range (pids are 32-bit integers); {}",
                        usage()
                    );
                }
                _ => return plan_err!("{name}: pid must be an integer; {}", usage()),
            },
            _ => return plan_err!("{name}: pid must be a literal integer; {}", usage()),
        };
        let host = match exprs.get(1) {
            None => None,
            Some(Expr::Literal(ScalarValue::Utf8(Some(h)) | ScalarValue::Utf8View(Some(h)), _)) => {
                Some(h.clone())
            }
            Some(_) => return plan_err!("{name}: host_name must be a string literal; {}", usage()),
        };
        if exprs.len() > 2 {
            return plan_err!("{name}: too many arguments; {}", usage());
        }
        let mode = if self.down {
            Mode::Descendants { pid, host }
        } else {
            Mode::Ancestors { pid, host }
        };
        Ok(Arc::new(TreeTable { mode }))
    }
}

/// Registers `process_tree`, `descendants` and `ancestors`.
pub async fn register(ctx: &SessionContext) -> Result<(), QueryError> {
    ctx.register_table("process_tree", Arc::new(TreeTable { mode: Mode::All }))?;
    ctx.register_udtf("descendants", Arc::new(FamilyFunction { down: true }));
    ctx.register_udtf("ancestors", Arc::new(FamilyFunction { down: false }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(pid: i32, parent: i32) -> Node {
        Node {
            host: "h".into(),
            boot: "b".into(),
            pid,
            parent: Some(parent),
            exe: None,
        }
    }

    /// A parent cycle (pid reuse: 10's parent is 20, whose parent is 10)
    /// gives each process once, not again and again to depth 256.
    #[test]
    fn a_parent_cycle_gives_each_process_once() {
        let nodes = [node(10, 20), node(20, 10), node(30, 10)];
        let depths = |b: &RecordBatch, col: usize| {
            let d = b
                .column(col)
                .as_any()
                .downcast_ref::<UInt32Array>()
                .unwrap();
            d.values().to_vec()
        };
        // 10: 10, 20; 20: 20, 10; 30: 30, 10, 20.
        assert_eq!(depths(&closure(&nodes).unwrap(), 6), [0, 1, 0, 1, 0, 1, 2]);
        // Below 10: 10, 30 and 20 (20's child 10 is not repeated).
        assert_eq!(
            depths(&family(&nodes, 10, None, true).unwrap(), 5),
            [0, 1, 1]
        );
        // Above 30: 30, 10, 20.
        assert_eq!(
            depths(&family(&nodes, 30, None, false).unwrap(), 5),
            [0, 1, 2]
        );
    }
}
