//! `hindsight query s3://...` against a local S3-compatible server (moto's
//! server mode, installed by scripts/setup.sh). Skips with a printed reason
//! only when moto cannot be imported.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hindsight"))
}

fn generate(dir: &Path, host: &str, seed: &str) {
    let out = bin()
        .args([
            "generate", "-q", "--events", "2000", "--seed", seed, "--host", host, "-o",
        ])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const UPLOAD: &str = r#"
import os, sys, boto3
endpoint, root, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="test",
                  aws_secret_access_key="test", region_name="us-east-1")
if not any(b["Name"] == "forensics" for b in s3.list_buckets()["Buckets"]):
    s3.create_bucket(Bucket="forensics")
for d, _, files in os.walk(root):
    for f in files:
        p = os.path.join(d, f)
        s3.upload_file(p, "forensics", prefix + os.path.relpath(p, root))
"#;

/// Uploads the tree `root` to the bucket `forensics` under the key `prefix`.
fn upload(endpoint: &str, root: &Path, prefix: &str) {
    let up = Command::new("python3")
        .args(["-c", UPLOAD, endpoint])
        .arg(root)
        .arg(prefix)
        .output()
        .unwrap();
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
}

#[test]
fn query_a_fleet_through_s3() {
    let probe = Command::new("python3")
        .args(["-c", "import moto.server, boto3"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: moto[server] is not installed (scripts/setup.sh installs it)");
        return;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Server(
        Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "moto did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let endpoint = format!("http://127.0.0.1:{port}");

    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet");
    generate(&fleet.join("host=web-1/date=2026-11-20/rec"), "web-1", "1");
    generate(&fleet.join("host=db-1/date=2026-11-20/rec"), "db-1", "2");
    upload(&endpoint, &fleet, "fleet/");

    let query = |url: &str, sql: &str| {
        bin()
            .args(["query", url, "-c", sql, "--format", "csv"])
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env_remove("AWS_PROFILE")
            .output()
            .unwrap()
    };
    let run = |sql: &str| query("s3://forensics/fleet/", sql);
    let o = run("SELECT host, count(*) AS n FROM events GROUP BY host ORDER BY host");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "host,n\ndb-1,2000\nweb-1,2000\n"
    );

    // The local tree gives the same answers as the bucket.
    let sql =
        "SELECT host_name, count(*) AS n FROM processes GROUP BY host_name ORDER BY host_name";
    let remote = run(sql);
    let local = bin()
        .args(["query"])
        .arg(&fleet)
        .args(["-c", sql, "--format", "csv"])
        .output()
        .unwrap();
    assert!(
        remote.status.success(),
        "{}",
        String::from_utf8_lossy(&remote.stderr)
    );
    assert_eq!(remote.stdout, local.stdout);

    // A prefix with a space and brackets is the keys' prefix, given raw or
    // percent-encoded (before, the URL's encoding was encoded again:
    // `odd%2520dir…`, no recording here); `?` and `#` are refused, not cut off.
    let odd = dir.path().join("odd");
    generate(&odd.join("rec"), "odd-1", "3");
    upload(&endpoint, &odd, "odd dir [1]/");
    for url in [
        "s3://forensics/odd dir [1]/",
        "s3://forensics/odd%20dir%20%5B1%5D/",
        "s3://forensics/odd dir [1]/rec/",
    ] {
        let o = query(url, "SELECT count(*) AS n FROM events");
        assert!(
            o.status.success(),
            "{url}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&o.stdout), "n\n2000\n", "{url}");
    }
    for url in ["s3://forensics/fleet/?x", "s3://forensics/fleet/#x"] {
        let o = query(url, "SELECT 1");
        assert_eq!(o.status.code(), Some(2), "{url}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("write ? as %3F and # as %23"),
            "{url}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    // Parquet files in a directory below a recording's events/ are no
    // segments (the scan's glob matched them: rows counted twice).
    let nested = dir.path().join("nested");
    generate(&nested.join("rec"), "nested-1", "4");
    let events = nested.join("rec/events");
    std::fs::create_dir(events.join("backup")).unwrap();
    for entry in std::fs::read_dir(&events).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, events.join("backup").join(p.file_name().unwrap())).unwrap();
        }
    }
    upload(&endpoint, &nested, "nested/");
    // A prefix ending in `.parquet/` is a directory (it was taken for one file).
    upload(&endpoint, &nested.join("rec"), "rec.parquet/");
    for url in ["s3://forensics/nested/", "s3://forensics/rec.parquet/"] {
        let o = query(url, "SELECT count(*) AS n FROM events");
        assert!(
            o.status.success(),
            "{url}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&o.stdout), "n\n2000\n", "{url}");
    }

    // Writes are refused by the read-only store, and a missing prefix is named.
    let o = run("COPY (SELECT 1) TO 's3://forensics/fleet/x.parquet'");
    assert_eq!(o.status.code(), Some(2));
    let o = bin()
        .args(["query", "s3://forensics/nothing-here/", "-c", "SELECT 1"])
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("s3://forensics/nothing-here/: no recording here"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
