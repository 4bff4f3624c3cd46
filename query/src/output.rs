//! Writing query results: `table`, `csv`, `json`, `jsonl` and `parquet`,
//! with times shown in UTC or another zone.

use std::io::Write;
use std::str::FromStr;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::util::display::FormatOptions;
use datafusion::arrow::util::pretty::pretty_format_batches_with_options;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;

/// An output format of `hindsight query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// An aligned text table (the default on a terminal).
    #[default]
    Table,
    /// CSV with a header row.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// A zstd Parquet file (binary: use `-o FILE` or a pipe).
    Parquet,
}

impl OutputFormat {
    /// Every format's name, as accepted by [`FromStr`].
    pub const NAMES: &[&str] = &["table", "csv", "json", "jsonl", "parquet"];
}

impl FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "table" => Self::Table,
            "csv" => Self::Csv,
            "json" => Self::Json,
            "jsonl" | "ndjson" => Self::Jsonl,
            "parquet" => Self::Parquet,
            other => {
                return Err(format!(
                    "unknown format {other:?} (one of {})",
                    Self::NAMES.join(", ")
                ));
            }
        })
    }
}

impl std::fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(Self::NAMES[*self as usize])
    }
}

/// The result's Arrow schema with every name unique, as JSON keys, CSV
/// headers and Parquet columns must be: a name that more than one column
/// has (`exe` of both sides of a self-join) is written with its relation,
/// `p.exe` and `c.exe`. Columns that have the same relation and name too
/// are refused, with a hint to alias them.
pub fn unique_names(schema: &datafusion::common::DFSchema) -> Result<SchemaRef, String> {
    let mut count = std::collections::HashMap::<&str, usize>::new();
    for field in schema.fields() {
        *count.entry(field.name().as_str()).or_default() += 1;
    }
    if count.values().all(|&n| n == 1) {
        return Ok(Arc::clone(schema.inner()));
    }
    let mut seen = std::collections::HashSet::new();
    let mut fields = Vec::new();
    for (qualifier, field) in schema.iter() {
        let name = match qualifier {
            Some(q) if count[field.name().as_str()] > 1 => format!("{q}.{}", field.name()),
            _ => field.name().clone(),
        };
        if !seen.insert(name.clone()) {
            return Err(format!(
                "the result has two columns named {name}: give them different names with AS \
                 (SELECT p.exe AS parent_exe, c.exe AS child_exe ...)"
            ));
        }
        fields.push(field.as_ref().clone().with_name(name));
    }
    Ok(Arc::new(Schema::new_with_metadata(
        fields,
        schema.inner().metadata().clone(),
    )))
}

/// Validates a time zone name (`Europe/Berlin`, `UTC`, `+05:30`).
pub fn check_time_zone(tz: &str) -> Result<(), String> {
    let probe = DataType::Timestamp(
        datafusion::arrow::datatypes::TimeUnit::Microsecond,
        Some(tz.into()),
    );
    let arr: ArrayRef = Arc::new(
        datafusion::arrow::array::TimestampMicrosecondArray::from(vec![0i64]).with_timezone("UTC"),
    );
    let cast = datafusion::arrow::compute::cast(&arr, &probe).map_err(|e| e.to_string())?;
    datafusion::arrow::util::display::array_value_to_string(&cast, 0)
        .map(|_| ())
        .map_err(|_| {
            format!("unknown time zone {tz:?} (use an IANA name such as Europe/Berlin, or +05:30)")
        })
}

/// Re-labels every zoned timestamp column to `tz` (the instant is unchanged,
/// only how it prints).
pub fn to_zone(batch: &RecordBatch, tz: &str) -> Result<RecordBatch, ArrowError> {
    let schema = zoned_schema(&batch.schema(), tz);
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(Arc::clone(c))
            } else {
                datafusion::arrow::compute::cast(c, f.data_type())
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema, columns)
}

/// The schema with zoned timestamps moved to `tz`.
pub fn zoned_schema(schema: &SchemaRef, tz: &str) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Timestamp(unit, Some(_)) => f
                .as_ref()
                .clone()
                .with_data_type(DataType::Timestamp(*unit, Some(tz.into()))),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// How zoned times print in tables and CSV: microseconds and the offset.
const TIMESTAMP_TZ_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6f%:z";

/// How timestamps and nulls print in tables.
fn format_options() -> FormatOptions<'static> {
    FormatOptions::default()
        .with_null("NULL")
        .with_timestamp_tz_format(Some(TIMESTAMP_TZ_FORMAT))
}

/// Renders batches as an aligned table (no trailing newline), control
/// characters in values and column names escaped ([`escape_controls`]).
pub fn table_string(batches: &[RecordBatch]) -> Result<String, ArrowError> {
    render_table(batches, false)
}

/// [`table_string`], line breaks kept when `line_breaks` (an `EXPLAIN`
/// plan, one line per operator).
fn render_table(batches: &[RecordBatch], line_breaks: bool) -> Result<String, ArrowError> {
    let escaped = batches
        .iter()
        .map(|b| escaped_text(b, line_breaks))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(pretty_format_batches_with_options(&escaped, &format_options())?.to_string())
}

/// Every column as the table prints it, in text with [`escape_controls`]
/// applied but for line breaks when `line_breaks` (nulls stay null, so they
/// print as `NULL`).
fn escaped_text(batch: &RecordBatch, line_breaks: bool) -> Result<RecordBatch, ArrowError> {
    use datafusion::arrow::array::StringBuilder;
    use datafusion::arrow::util::display::ArrayFormatter;
    let options = format_options();
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (field, col) in batch.schema().fields().iter().zip(batch.columns()) {
        let formatter = ArrayFormatter::try_new(col.as_ref(), &options)?;
        let mut text = StringBuilder::new();
        for i in 0..col.len() {
            if col.is_null(i) {
                text.append_null();
            } else {
                let value = formatter.value(i).to_string();
                if line_breaks {
                    let lines: Vec<_> = value.split('\n').map(escape_controls).collect();
                    text.append_value(lines.join("\n"));
                } else {
                    text.append_value(escape_controls(&value));
                }
            }
        }
        fields.push(Field::new(
            escape_controls(field.name()),
            DataType::Utf8,
            true,
        ));
        columns.push(Arc::new(text.finish()));
    }
    RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        columns,
        &datafusion::arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
}

/// `text` with control characters written visibly, so that a recorded
/// string (a file named with an escape sequence) cannot move the cursor,
/// clear the screen or reorder text on the terminal: `\n`, `\r`, `\t`,
/// other C0 controls and DEL as `\x1b`, C1 controls and the bidirectional
/// overrides and isolates as `\u{9b}`. Other text is kept as it is.
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    use std::fmt::Write as _;
    let special =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(special) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if special(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Writes `batch` as CSV rows: a NULL is an empty field and an empty string
/// `""`, so the two differ; lists and structs (`argv`, …) are JSON
/// (`["bash","-c","id"]`, each item quoted as JSON quotes it); other values
/// as the table shows them, times with their offset. A field is quoted when
/// it holds a comma, a quote or a line break (quotes doubled); control
/// characters are written as they are.
fn write_csv_rows<W: Write>(out: &mut W, batch: &RecordBatch) -> Result<(), ArrowError> {
    use datafusion::arrow::json::writer::{EncoderOptions, make_encoder};
    use datafusion::arrow::util::display::ArrayFormatter;
    enum Cell<'a> {
        Text(ArrayFormatter<'a>),
        Json(datafusion::arrow::json::writer::NullableEncoder<'a>),
    }
    let options = FormatOptions::default()
        .with_null("")
        .with_timestamp_tz_format(Some(TIMESTAMP_TZ_FORMAT));
    let json_options = EncoderOptions::default().with_explicit_nulls(true);
    let schema = batch.schema();
    let nulls: Vec<_> = batch.columns().iter().map(|c| c.logical_nulls()).collect();
    let mut cells = Vec::new();
    for (field, col) in schema.fields().iter().zip(batch.columns()) {
        cells.push(if col.data_type().is_nested() {
            Cell::Json(make_encoder(field, col.as_ref(), &json_options)?)
        } else {
            Cell::Text(ArrayFormatter::try_new(col.as_ref(), &options)?)
        });
    }
    let mut line = Vec::new();
    let mut value = Vec::new();
    for row in 0..batch.num_rows() {
        line.clear();
        for (i, cell) in cells.iter_mut().enumerate() {
            if i > 0 {
                line.push(b',');
            }
            if nulls[i].as_ref().is_some_and(|n| n.is_null(row)) {
                continue;
            }
            value.clear();
            match cell {
                Cell::Text(f) => write!(value, "{}", f.value(row))?,
                Cell::Json(e) => e.encode(row, &mut value),
            }
            csv_field(&mut line, &value);
        }
        line.push(b'\n');
        out.write_all(&line)?;
    }
    Ok(())
}

/// Appends one CSV field: quoted when empty (to tell it from NULL) or when
/// it holds a comma, a quote or a line break.
fn csv_field(line: &mut Vec<u8>, value: &[u8]) {
    if !value.is_empty()
        && !value
            .iter()
            .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        line.extend_from_slice(value);
        return;
    }
    line.push(b'"');
    for &b in value {
        if b == b'"' {
            line.push(b'"');
        }
        line.push(b);
    }
    line.push(b'"');
}

/// The CSV header row of `schema`.
fn write_csv_header<W: Write>(out: &mut W, schema: &Schema) -> Result<(), ArrowError> {
    let mut line = Vec::new();
    for (i, field) in schema.fields().iter().enumerate() {
        if i > 0 {
            line.push(b',');
        }
        csv_field(&mut line, field.name().as_bytes());
    }
    line.push(b'\n');
    out.write_all(&line)?;
    Ok(())
}

/// A streaming writer for one result.
pub struct ResultWriter<W: Write + Send> {
    inner: Inner<W>,
    /// Whether a table keeps line breaks in values ([`Self::with_line_breaks`]).
    line_breaks: bool,
}

enum Inner<W: Write + Send> {
    Table(W, Vec<RecordBatch>, SchemaRef),
    /// The output (buffered: rows are written one at a time), the schema,
    /// and whether the header was written.
    Csv(std::io::BufWriter<W>, SchemaRef, bool),
    Json(datafusion::arrow::json::ArrayWriter<W>),
    Jsonl(datafusion::arrow::json::LineDelimitedWriter<W>),
    Parquet(ArrowWriter<W>),
}

impl<W: Write + Send> ResultWriter<W> {
    /// Starts writing a result with `schema` in `format` to `out`.
    pub fn new(out: W, format: OutputFormat, schema: SchemaRef) -> Result<Self, ArrowError> {
        let inner = match format {
            OutputFormat::Table => Inner::Table(out, Vec::new(), schema),
            OutputFormat::Csv => Inner::Csv(std::io::BufWriter::new(out), schema, false),
            // Every column in every object, nulls as `null` (as `replay`
            // writes them): scripts see the same keys on every row.
            OutputFormat::Json => Inner::Json(
                datafusion::arrow::json::WriterBuilder::new()
                    .with_explicit_nulls(true)
                    .build(out),
            ),
            OutputFormat::Jsonl => Inner::Jsonl(
                datafusion::arrow::json::WriterBuilder::new()
                    .with_explicit_nulls(true)
                    .build(out),
            ),
            OutputFormat::Parquet => {
                let props = WriterProperties::builder()
                    .set_compression(Compression::ZSTD(ZstdLevel::default()))
                    .build();
                Inner::Parquet(
                    ArrowWriter::try_new(out, schema, Some(props))
                        .map_err(|e| ArrowError::ExternalError(Box::new(e)))?,
                )
            }
        };
        Ok(Self {
            inner,
            line_breaks: false,
        })
    }

    /// Keeps line breaks in a table's values instead of escaping them as
    /// `\n` (for `EXPLAIN` plans, whose lines are the plan's operators);
    /// other control characters are still escaped.
    pub fn with_line_breaks(mut self) -> Self {
        self.line_breaks = true;
        self
    }

    /// Writes one batch (tables buffer until [`Self::finish`]).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), ArrowError> {
        match &mut self.inner {
            Inner::Table(_, batches, _) => batches.push(batch.clone()),
            Inner::Csv(out, schema, wrote) => {
                if !*wrote {
                    write_csv_header(out, schema)?;
                    *wrote = true;
                }
                write_csv_rows(out, batch)?;
            }
            Inner::Json(w) => w.write(batch)?,
            Inner::Jsonl(w) => w.write(batch)?,
            Inner::Parquet(w) => w
                .write(batch)
                .map_err(|e| ArrowError::ExternalError(Box::new(e)))?,
        }
        Ok(())
    }

    /// Ends the output (closes the JSON array, writes the Parquet footer,
    /// writes the CSV header of a result without rows).
    pub fn finish(self) -> Result<(), ArrowError> {
        match self.inner {
            Inner::Table(mut out, batches, schema) => {
                let text = if batches.is_empty() {
                    render_table(&[RecordBatch::new_empty(schema)], self.line_breaks)?
                } else {
                    render_table(&batches, self.line_breaks)?
                };
                writeln!(out, "{text}")?;
                out.flush()?;
            }
            Inner::Csv(mut out, schema, wrote) => {
                // No rows still gives the header: the schema is known.
                if !wrote {
                    write_csv_header(&mut out, &schema)?;
                }
                let mut out = out
                    .into_inner()
                    .map_err(|e| ArrowError::from(e.into_error()))?;
                out.flush()?;
            }
            Inner::Json(mut w) => {
                w.finish()?;
                let mut out = w.into_inner();
                writeln!(out)?;
                out.flush()?;
            }
            Inner::Jsonl(mut w) => {
                w.finish()?;
                w.into_inner().flush()?;
            }
            Inner::Parquet(w) => {
                let mut out = w
                    .into_inner()
                    .map_err(|e| ArrowError::ExternalError(Box::new(e)))?;
                out.flush()?;
            }
        }
        Ok(())
    }
}
