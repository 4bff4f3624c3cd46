//! Running SQL safely: [`run_sql`] splits a script into statements, rejects
//! the ones that would write, and turns errors into messages with the line,
//! the column, a caret and a hint ([`diagnose`]).

use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::execution::context::{SQLOptions, SessionContext};
use datafusion::sql::parser::{DFParser, Statement};
use datafusion::sql::sqlparser::ast::Statement as Ast;
use datafusion::sql::sqlparser::dialect::GenericDialect;

use crate::QueryError;

/// Parses `sql` (one statement or a script of `;`-separated ones), checks
/// that none writes, plans and runs each in order. DDL that only lives in the
/// session (`CREATE VIEW`, `CREATE TABLE ... AS SELECT`, `SET`) runs at once
/// and yields an empty frame; queries yield a lazy [`DataFrame`].
pub async fn run_sql(ctx: &SessionContext, sql: &str) -> Result<Vec<DataFrame>, QueryError> {
    let statements = DFParser::parse_sql_with_dialect(sql, &GenericDialect {})
        .map_err(|e| diagnose(ctx, sql, &e))?;
    let state = ctx.state();
    let options = SQLOptions::new().with_allow_dml(false);
    let mut frames = Vec::new();
    for statement in statements {
        check_read_only(&statement)?;
        let plan = state
            .statement_to_plan(statement)
            .await
            .map_err(|e| diagnose(ctx, sql, &e))?;
        options
            .verify_plan(&plan)
            .map_err(|e| diagnose(ctx, sql, &e))?;
        frames.push(
            ctx.execute_logical_plan(plan)
                .await
                .map_err(|e| diagnose(ctx, sql, &e))?,
        );
    }
    Ok(frames)
}

/// Rejects statements that write files or tables.
pub fn check_read_only(statement: &Statement) -> Result<(), QueryError> {
    let reject = |what: &str| {
        Err(QueryError::WriteRejected {
            statement: what.to_string(),
        })
    };
    match statement {
        Statement::CopyTo(_) => reject("COPY"),
        Statement::Explain(e) => check_read_only(&e.statement),
        Statement::Statement(ast) => match ast.as_ref() {
            Ast::Insert(_) => reject("INSERT"),
            Ast::Update { .. } => reject("UPDATE"),
            Ast::Delete(_) => reject("DELETE"),
            Ast::Truncate { .. } => reject("TRUNCATE"),
            Ast::Merge { .. } => reject("MERGE"),
            Ast::Copy { .. } | Ast::CopyIntoSnowflake { .. } => reject("COPY"),
            Ast::Drop { .. } => reject("DROP"),
            Ast::Explain { statement, .. } => {
                check_read_only(&Statement::Statement(statement.clone()))
            }
            _ => Ok(()),
        },
        Statement::CreateExternalTable(_) | Statement::Reset(_) => Ok(()),
    }
}

/// Renders a DataFusion error against the SQL text: the message, the line
/// with a caret under the position (when known), and a hint.
pub fn diagnose(ctx: &SessionContext, sql: &str, err: &DataFusionError) -> QueryError {
    let root = err.find_root();
    let mut message = strip_prefixes(&root.to_string());
    let mut position: Option<(usize, usize, usize)> = None; // line, column, width
    let mut hints: Vec<String> = Vec::new();

    if let Some(d) = err.diagnostic() {
        if let Some(span) = d.span
            && span.start.line > 0
        {
            let width = if span.end.line == span.start.line && span.end.column >= span.start.column
            {
                (span.end.column - span.start.column) as usize
            } else {
                1
            };
            position = Some((
                span.start.line as usize,
                span.start.column as usize,
                width.max(1),
            ));
        }
        for help in &d.helps {
            hints.push(help.message.clone());
        }
    }
    if position.is_none() {
        position = parser_position(&message);
    }
    if position.is_none() && message.contains("found: EOF") {
        let lines: Vec<&str> = sql.trim_end().lines().collect();
        let last = lines.last().map_or(0, |l| l.chars().count());
        position = Some((lines.len().max(1), last + 1, 1));
        hints.push("the statement ends too early".into());
    }
    if let DataFusionError::SchemaError(e, _) = root
        && let datafusion::common::SchemaError::FieldNotFound {
            field,
            valid_fields,
        } = e.as_ref()
    {
        let names: Vec<String> = valid_fields.iter().map(|c| c.name.clone()).collect();
        message = format!("no column named {}", field.name);
        let close = close_names(&field.name, &names);
        if close.is_empty() {
            hints.push(format!(
                "columns here: {}",
                shorten(dedup(names), 12).join(", ")
            ));
        } else {
            hints.push(format!("did you mean {}?", close.join(", ")));
        }
        if position.is_none() {
            position = find_word(sql, &field.name);
        }
    }
    if let Some(table) = missing_table(&message) {
        let names = table_names(ctx);
        let close = close_names(&table, &names);
        if !close.is_empty() {
            hints.push(format!("did you mean {}?", close.join(", ")));
        } else {
            hints.push(format!("tables: {}", names.join(", ")));
        }
        if position.is_none() {
            position = find_word(sql, &table);
        }
    }
    if message.starts_with("Unterminated string literal") {
        hints.push("close the string with ' (a quote inside a string is written '')".into());
    }
    if message.contains("Expected") && hints.is_empty() {
        hints.push("check the syntax near the caret; string literals take 'single quotes', identifiers \"double quotes\"".into());
    }
    let mut out = format!("SQL error: {message}");
    if let Some((line, column, width)) = position
        && let Some(text) = sql.lines().nth(line.saturating_sub(1))
    {
        let gutter = line.to_string().len();
        out.push_str(&format!(
            "\n{:gutter$}--> line {line}, column {column}\n{:gutter$} |\n{line} | {text}\n{:gutter$} | {}{}",
            "",
            "",
            "",
            " ".repeat(column.saturating_sub(1)),
            "^".repeat(width.min(text.len().saturating_sub(column.saturating_sub(1)).max(1)))
        ));
    }
    for hint in dedup(hints) {
        out.push_str(&format!("\nhint: {hint}"));
    }
    QueryError::Sql(out)
}

fn strip_prefixes(s: &str) -> String {
    let mut s = s.trim();
    for p in [
        "SQL error: ",
        "ParserError(\"",
        "TokenizerError(\"",
        "Error during planning: ",
        "Schema error: ",
        "Execution error: ",
    ] {
        if let Some(rest) = s.strip_prefix(p) {
            s = rest;
        }
    }
    s.trim_end_matches("\")").to_string()
}

/// `... at Line: 2, Column: 8` in sqlparser messages.
fn parser_position(message: &str) -> Option<(usize, usize, usize)> {
    let i = message.rfind("Line: ")?;
    let rest = &message[i + 6..];
    let (line, rest) = rest.split_once(", Column: ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?, 1))
}

/// The table name in "table 'x' not found" style messages.
fn missing_table(message: &str) -> Option<String> {
    let i = message.find("table '")?;
    let rest = &message[i + 7..];
    let name = &rest[..rest.find('\'')?];
    message[i..]
        .contains("not found")
        .then(|| name.rsplit('.').next().unwrap_or(name).to_string())
}

fn table_names(ctx: &SessionContext) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(catalog) = ctx.catalog("hindsight")
        && let Some(schema) = catalog.schema("public")
    {
        names = schema.table_names();
    }
    names.extend(["descendants(pid)".to_string(), "ancestors(pid)".to_string()]);
    names.sort();
    names
}

/// First occurrence of `word` (case-insensitive) as (line, column, width).
fn find_word(sql: &str, word: &str) -> Option<(usize, usize, usize)> {
    let lower = word.to_lowercase();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    for (n, line) in sql.lines().enumerate() {
        let l = line.to_lowercase();
        let mut from = 0;
        while let Some(i) = l[from..].find(&lower).map(|i| i + from) {
            let before = l[..i].chars().next_back();
            let after = l[i + lower.len()..].chars().next();
            if !before.is_some_and(ident) && !after.is_some_and(ident) {
                return Some((n + 1, line[..i].chars().count() + 1, word.chars().count()));
            }
            from = i + lower.len();
        }
    }
    None
}

/// Names close to `wanted`: same words in another order, a substring either
/// way, or a small edit distance. Best first, at most five.
pub fn close_names(wanted: &str, names: &[String]) -> Vec<String> {
    let w = wanted.to_lowercase();
    let mut scored: Vec<(usize, &String)> = names
        .iter()
        .filter_map(|n| {
            let l = n.to_lowercase();
            if l == w {
                return None;
            }
            let d = edit_distance(&w, &l);
            let limit = (w.len().max(3) / 3).max(2);
            if d <= limit {
                Some((d, n))
            } else if l.contains(&w) || (w.len() >= 4 && w.contains(&l)) {
                Some((limit + 1 + l.len().abs_diff(w.len()), n))
            } else {
                let wparts: Vec<&str> = w.split('_').filter(|p| p.len() > 2).collect();
                let hits = wparts.iter().filter(|p| l.contains(**p)).count();
                (hits > 0 && hits == wparts.len()).then_some((limit + 20, n))
            }
        })
        .collect();
    scored.sort();
    dedup(scored.into_iter().map(|(_, n)| n.clone()).collect())
        .into_iter()
        .take(5)
        .collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn dedup(v: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in v {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

fn shorten(mut v: Vec<String>, n: usize) -> Vec<String> {
    if v.len() > n {
        let more = v.len() - n;
        v.truncate(n);
        v.push(format!("... ({more} more; \\d NAME lists them)"));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close() {
        let names: Vec<String> = [
            "process_pid",
            "process_parent_pid",
            "file_path",
            "file_path_user",
            "pid",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(close_names("procss_pid", &names)[0], "process_pid");
        assert!(close_names("path", &names).contains(&"file_path".to_string()));
        assert!(close_names("zzz", &names).is_empty());
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn parser_positions() {
        assert_eq!(
            parser_position("Expected: end of statement, found: x at Line: 2, Column: 8"),
            Some((2, 8, 1))
        );
    }
}
