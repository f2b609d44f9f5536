//! In-process benchmarks of the hot paths (docs/PERFORMANCE.md): `cargo bench -p vhd-validator
//! --bench hot_paths`. Images are built once per run with the crate's own encoders under
//! `$VHD_BENCH_DIR` (default: /dev/shm when it exists, else the temporary directory).
//!
//! - `check`: `check_image` and `Layout::parse` of a 2040 GiB dynamic disk with 3 small writes.
//! - `digest`: a fully written dynamic disk, the same bytes as a flat file through sha2 (the
//!   baseline), a differencing chain of depth 4 with scattered 4 KiB writes over that disk, and
//!   an empty dynamic disk (SHA-256 of zeros, which cannot be skipped).
//! - `write_raw`: the fully written disk to a raw file (the `cat` path).
//! - `read_at`: random 4 KiB reads through the chain.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sha2::{Digest, Sha256};
use std::hint::black_box;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vhd_testkit::bench as support;
use vhd_validator::chain::ChainReader;
use vhd_validator::check::{check_image, CheckOptions, Layout};
use vhd_validator::io::FileSource;

/// Size of the data benchmarks' virtual disk: 256 MiB (scripts/bench.sh measures 1 GiB).
const SIZE: u64 = 256 << 20;

fn bench_dir() -> PathBuf {
    let dir = match std::env::var_os("VHD_BENCH_DIR") {
        Some(d) => PathBuf::from(d),
        None if Path::new("/dev/shm").is_dir() => PathBuf::from("/dev/shm"),
        None => std::env::temp_dir(),
    };
    let dir = dir.join(format!("vhd-hot-paths-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("bench dir");
    dir
}

struct Images {
    dir: PathBuf,
    sparse: PathBuf,
    full: PathBuf,
    flat: PathBuf,
    chain_top: PathBuf,
    empty: PathBuf,
}

impl Images {
    fn build() -> Images {
        let dir = bench_dir();
        let sparse = dir.join("sparse2040g.vhd");
        let ranges = [(0, 4 << 20), (1 << 40, 2 << 20), (2000 << 30, 64 << 10)];
        support::write_sparse_dynamic(&sparse, 2040 << 30, 2, &ranges).expect("sparse image");
        let full = dir.join("base.vhd");
        support::write_full_dynamic(&full, SIZE, 1).expect("full image");
        let flat = dir.join("base.raw");
        let mut out = std::fs::File::create(&flat).expect("flat file");
        ChainReader::open(&full, &CheckOptions::default()).expect("open").write_raw(&mut out).expect("raw");
        let chain_top = support::build_chain(&dir, &full, SIZE, 4, 1024).expect("chain");
        let empty = dir.join("empty.vhd");
        support::write_sparse_dynamic(&empty, SIZE, 3, &[]).expect("empty image");
        Images { dir, sparse, full, flat, chain_top, empty }
    }
}

impl Drop for Images {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn open(p: &Path) -> ChainReader {
    ChainReader::open(p, &CheckOptions::default()).expect("open image")
}

fn sha256_file(p: &Path, buf: &mut [u8]) -> [u8; 32] {
    let mut f = std::fs::File::open(p).expect("open flat");
    let mut h = Sha256::new();
    loop {
        let n = f.read(buf).expect("read flat");
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    h.finalize().into()
}

fn benches(c: &mut Criterion) {
    let img = Images::build();

    let mut g = c.benchmark_group("check");
    let src = FileSource::open(&img.sparse).expect("open sparse");
    g.bench_function("layout_parse/2040g_sparse", |b| b.iter(|| black_box(Layout::parse(&src))));
    g.bench_function("check_image/2040g_sparse", |b| {
        b.iter(|| black_box(check_image(&src, "sparse.vhd", &CheckOptions::default())))
    });
    g.finish();

    let mut g = c.benchmark_group("digest");
    g.sample_size(10).measurement_time(Duration::from_secs(10)).throughput(Throughput::Bytes(SIZE));
    let mut buf = vec![0u8; 64 << 10];
    g.bench_function("sha2_flat_file", |b| b.iter(|| black_box(sha256_file(&img.flat, &mut buf))));
    for chunk in [64usize << 10, 256 << 10, 1 << 20] {
        let r = open(&img.full).with_chunk_size(chunk);
        g.bench_with_input(BenchmarkId::new("dynamic_full", chunk >> 10), &r, |b, r| {
            b.iter(|| black_box(r.digest().expect("digest")))
        });
    }
    let chain = open(&img.chain_top);
    g.bench_function("chain_depth4_scattered_4k", |b| b.iter(|| black_box(chain.digest().expect("digest"))));
    let empty = open(&img.empty);
    g.bench_function("dynamic_empty_zeros", |b| b.iter(|| black_box(empty.digest().expect("digest"))));
    g.finish();

    let mut g = c.benchmark_group("write_raw");
    g.sample_size(10).measurement_time(Duration::from_secs(10)).throughput(Throughput::Bytes(SIZE));
    let out_path = img.dir.join("out.raw");
    for chunk in [64usize << 10, 256 << 10, 1 << 20] {
        let r = open(&img.full).with_chunk_size(chunk);
        g.bench_with_input(BenchmarkId::new("dynamic_full", chunk >> 10), &r, |b, r| {
            b.iter(|| {
                let _ = std::fs::remove_file(&out_path);
                let mut out = std::fs::File::create(&out_path).expect("create out");
                r.write_raw(&mut out).expect("write_raw");
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("read_at");
    g.throughput(Throughput::Bytes(4096 * 256));
    let mut rng = vhd_testkit::Rng(9);
    let offsets: Vec<u64> = (0..256).map(|_| rng.below(SIZE / 4096) * 4096).collect();
    let mut page = vec![0u8; 4096];
    g.bench_function("chain_depth4_random_4k_x256", |b| {
        b.iter(|| {
            for &o in &offsets {
                chain.read_at(o, &mut page).expect("read");
            }
            black_box(&page);
        })
    });
    g.finish();
}

criterion_group!(hot_paths, benches);
criterion_main!(hot_paths);
