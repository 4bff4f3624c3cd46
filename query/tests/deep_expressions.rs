//! Long and deeply nested expressions are answered or refused, never a
//! crash: a query written by a script can `OR` together thousands of
//! conditions, and DataFusion plans such a chain by recursion. Its
//! `recursive_protection` grows the stack for the planner's own walks
//! (without it, 400 terms overflowed the 8 MiB main thread of a debug
//! build); the derived `Clone` and `Drop` of the expression tree still
//! recurse, which in a debug build on 8 MiB ends between 5 000 and 10 000
//! terms (`hindsight query` plans on a thread with 256 MiB, where 10 000
//! were answered).

mod common;

/// The single number a `SELECT count(*) ...` over the small fixture returns.
async fn count(sql: &str) -> Result<i64, String> {
    common::single_i64(&common::small(), sql).await
}

/// Runs `f` to completion on a thread with the stack of a program's main
/// thread (8 MiB): a library user may plan there, and so did the CLI.
fn on_main_sized_stack<F: std::future::Future<Output = ()> + 'static>(f: fn() -> F) {
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(f())
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn a_chain_of_a_thousand_ors_is_answered() {
    on_main_sized_stack(a_thousand_ors);
}

async fn a_thousand_ors() {
    let n = 1000;
    let chain: Vec<String> = (0..n).map(|i| format!("process_pid = {i}")).collect();
    let list: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    let by_chain = count(&format!(
        "SELECT count(*) FROM events WHERE {}",
        chain.join(" OR ")
    ))
    .await
    .expect("the OR chain");
    let by_list = count(&format!(
        "SELECT count(*) FROM events WHERE process_pid IN ({})",
        list.join(", ")
    ))
    .await
    .expect("the IN list");
    assert_eq!(by_chain, by_list);
    assert!(
        by_chain > 0,
        "no row has a pid below {n}: the test proves nothing"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn parentheses_nested_too_deep_are_an_error() {
    let depth = 5000;
    let sql = format!(
        "SELECT count(*) FROM events WHERE {}process_pid = 1{}",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    let err = count(&sql).await.expect_err("5000 nested parentheses");
    assert!(
        err.to_lowercase().contains("recursion"),
        "unexpected error: {err}"
    );
}
