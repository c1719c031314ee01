//! `compare --trace DIR` (issue 16): one Chrome-format trace per kairos backend and round of a
//! periodic workload, each a JSON document with a track per worker and a slice per poll. The
//! checks are on the files' shape, never on timings.

use std::process::Command;

#[test]
fn compare_writes_one_trace_per_kairos_round() {
    let dir = std::env::temp_dir().join(format!("sched-bench-trace-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_sched-bench"))
        .args([
            "compare",
            "--workload",
            "latency-under-load",
            "--backends",
            "kairos-edf,kairos-fifo,tokio",
            "--rounds",
            "2",
            "--duration",
            "100ms",
            "--trace",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // kairos rows only (tokio has no kairos trace), one file per round.
    assert_eq!(
        names,
        [
            "latency-under-load.kairos-edf.round1.json",
            "latency-under-load.kairos-edf.round2.json",
            "latency-under-load.kairos-fifo.round1.json",
            "latency-under-load.kairos-fifo.round2.json",
        ]
    );
    for name in &names {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let events = doc["traceEvents"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no traceEvents array"));
        let slices = events.iter().filter(|e| e["ph"] == "X").count();
        let tracks = events
            .iter()
            .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
            .count();
        assert!(slices > 0, "{name}: no poll slices");
        assert!(
            tracks >= 2,
            "{name}: {tracks} worker tracks, expected one per worker (2)"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
