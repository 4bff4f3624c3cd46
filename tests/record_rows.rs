//! Rows the recorder writes for edge cases a rule depends on. Needs root;
//! skips with a printed reason otherwise.
//!
//! - The second path of link, symlink and rename is made absolute against the
//!   directory it is relative to, also when the first path is absolute
//!   (`ln -s /abs rel`): a rule on the created name (e.g. an SSH
//!   `authorized_keys` replaced by a link) must see its real place.
//! - An argv longer than the record holds is marked as cut, with its size.

use std::path::Path;
use std::process::Command;

#[path = "support/root.rs"]
mod root;
use root::is_root;

fn hindsight() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hindsight"))
}

/// `syscall,file_path,file_target_path,file_target_path_user` rows, in order.
fn link_rows(rec: &Path) -> Vec<String> {
    let o = hindsight()
        .arg("query")
        .arg(rec)
        .args([
            "SELECT syscall, file_path, file_target_path, file_target_path_user FROM events \
             WHERE syscall IN ('symlink', 'symlinkat', 'link', 'linkat', 'rename', 'renameat', \
             'renameat2') AND ret = 0 ORDER BY seq",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect()
}

#[test]
fn second_paths_are_absolute_whatever_the_first() {
    if !is_root() {
        eprintln!("skipped second_paths_are_absolute_whatever_the_first: recording needs root");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    let h = home.display();
    // Relative to the working directory (the first path absolute).
    let rec = tmp.path().join("cwd");
    let script = format!(
        "cd {h}/.ssh && ln -s /tmp/evil authorized_keys && cd {h} && \
         ln /etc/hostname .ssh/hard && mv .ssh/hard .ssh/moved"
    );
    let o = hindsight()
        .args(["record", "-o"])
        .arg(&rec)
        .args(["--", "sh", "-c", &script])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = link_rows(&rec);
    let want = [
        format!("symlinkat,/tmp/evil,{h}/.ssh/authorized_keys,authorized_keys"),
        format!("linkat,/etc/hostname,{h}/.ssh/hard,.ssh/hard"),
    ];
    for w in &want {
        assert!(rows.contains(w), "missing {w} in {rows:#?}");
    }
    assert!(
        rows.iter()
            .any(|r| r.ends_with(&format!(",{h}/.ssh/moved,.ssh/moved"))),
        "{rows:#?}"
    );
    // Relative to a directory descriptor (the *at calls' new dirfd).
    let rec = tmp.path().join("dirfd");
    let program = format!(
        "import os\n\
         d = os.open('{h}/.ssh', os.O_RDONLY)\n\
         os.symlink('/tmp/evil', 'viafd', dir_fd=d)\n\
         os.link('/etc/hostname', 'hardfd', dst_dir_fd=d)\n\
         os.rename('{h}/.ssh/viafd', 'renamed', dst_dir_fd=d)\n"
    );
    let o = hindsight()
        .args(["record", "-o"])
        .arg(&rec)
        .args(["--", "python3", "-c", &program])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = link_rows(&rec);
    for w in [
        format!("symlinkat,/tmp/evil,{h}/.ssh/viafd,viafd"),
        format!("linkat,/etc/hostname,{h}/.ssh/hardfd,hardfd"),
        format!("renameat,{h}/.ssh/viafd,{h}/.ssh/renamed,renamed"),
    ] {
        assert!(rows.contains(&w), "missing {w} in {rows:#?}");
    }
}

#[test]
fn a_cut_argv_says_so() {
    if !is_root() {
        eprintln!("skipped a_cut_argv_says_so: recording needs root");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("rec");
    let long: Vec<String> = (0..3000).map(|i| i.to_string()).collect();
    let o = hindsight()
        .args(["record", "-o"])
        .arg(&rec)
        .args(["--", "/bin/true"])
        .args(&long)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = hindsight()
        .arg("query")
        .arg(&rec)
        .args([
            "SELECT syscall_args FROM events WHERE event_kind = 'process_exec'",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    let whole: usize = long.iter().map(|a| a.len() + 1).sum::<usize>() + "/bin/true".len() + 1;
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains(&format!("argv_bytes={whole} argv_recorded=")),
        "{text}"
    );
}
