//! `vhd_validator::analyze` against the generator's content model: every count the analysis
//! reports is recomputed here from the scenario's model (which sectors each image wrote and
//! with what), never from a reader; and a child over a real image, cross-checked with 7-Zip's
//! flattening of each level.

use std::path::Path;
use std::process::Command;
use vhd_generator::case::{generate_case, update_images, GenOptions};
use vhd_generator::model::{content, ImageModel, RangeMap};
use vhd_generator::pattern::Fill;
use vhd_generator::plan::plan_chain;
use vhd_generator::yaml::parse_scenario;
use vhd_generator::Scenario;
use vhd_validator::analyze::{analyze, AnalyzeOptions};
use vhd_validator::chain::ChainReader;
use vhd_validator::check::CheckOptions;

/// Bytes of every sector of a disk whose content is `c`, `sectors` long.
fn flatten(c: &RangeMap<Fill>, sectors: u64) -> Vec<u8> {
    let mut disk = vec![0u8; (sectors * 512) as usize];
    for &(s, e, f) in c.ranges() {
        let (s, e) = (s.min(sectors), e.min(sectors));
        f.fill(s, &mut disk[(s * 512) as usize..(e * 512) as usize]);
    }
    disk
}

fn sector(d: &[u8], s: u64) -> &[u8] {
    &d[(s * 512) as usize..(s * 512 + 512) as usize]
}

/// Maximal runs of a sector set.
fn runs(bits: &RangeMap<()>) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for &(s, e, ()) in bits.ranges() {
        match out.last_mut() {
            Some(l) if l.1 == s => l.1 = e,
            _ => out.push((s, e)),
        }
    }
    out
}

/// Models of the chain's images, and of each template-update image's chain with its file name.
type Models = (Vec<ImageModel>, Vec<(Vec<ImageModel>, String)>);

fn generate(text: &str, dir: &Path) -> Models {
    let s = parse_scenario(text, "a.yaml").unwrap();
    generate_case(&s, "a", None, dir, "", &[], &GenOptions::default()).unwrap();
    let plans = plan_chain(&s, s.seed).unwrap();
    let models: Vec<ImageModel> = plans.iter().map(|p| p.model.clone()).collect();
    let extra = update_images(&s, &plans, s.seed)
        .unwrap()
        .into_iter()
        .map(|(img, name)| {
            let s2 = Scenario { image: img, mutations: Vec::new(), update: None, ..s.clone() };
            (plan_chain(&s2, s.seed).unwrap().into_iter().map(|p| p.model).collect(), name)
        })
        .collect();
    (models, extra)
}

fn open(p: &Path) -> ChainReader {
    ChainReader::open(p, &CheckOptions::default()).unwrap()
}

/// A template (GPT at 2048 or MBR at 63) with cluster-sized writes; the child rewrites some
/// clusters with the template's bytes, some with zeros, some unaligned with new bytes; the
/// update changes clusters the child wrote (some with the child's bytes) and others.
fn scenario(mbr: bool) -> String {
    let (table, start) = if mbr { ("mbr", 63) } else { ("gpt", 2048) };
    format!(
        "description: analyze\nseed: 7\nimage:\n  type: differencing\n  size: 6 MiB\n  block_size: 512 KiB\n  writes:\n\
         \x20   - {{sector: {a}, count: 8, pattern: {{counter: 1}}, repeat: {{count: 6, stride: 16}}}}\n\
         \x20   - {{sector: {b}, count: 5, pattern: {{fill: 9}}, repeat: {{count: 3, stride: 40}}}}\n\
         \x20   - {{sector: {c}, count: 16, pattern: zero}}\n\
         \x20   - {{sector: 7000, count: 24, pattern: {{fill: 4}}}}\n\
         \x20 parent:\n    type: dynamic\n    size: 6 MiB\n    block_size: 1 MiB\n    writes:\n\
         \x20     - {{sector: 0, count: 34, pattern: {{partition-table: {{scheme: {table}}}}}}}\n\
         \x20     - {{sector: {start}, count: 3000, pattern: {{counter: 1}}}}\n\
         update:\n  writes:\n\
         \x20   - {{sector: {u1}, count: 64, pattern: {{fill: 9}}}}\n\
         \x20   - {{sector: 6990, count: 20, pattern: {{fill: 4}}}}\n\
         \x20   - {{sector: {a}, count: 20, pattern: {{fill: 5}}}}\n\
         \x20 children:\n    - file: clean.vhd\n      writes:\n        - {{sector: 9000, count: 8, pattern: {{fill: 2}}}}\n",
        a = start + 8,
        b = start + 203,
        c = start + 400,
        u1 = start + 200,
    )
}

#[test]
fn analysis_counts_equal_the_scenario_model() {
    for mbr in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let (models, extra) = generate(&scenario(mbr), dir.path());
        let [child, parent] = [&models[0], &models[1]];
        let sectors = child.sectors();
        let chain_disk = flatten(&content(&models), sectors);
        let old_disk = flatten(&content(&models[1..]), sectors);
        let new_models = &extra[0].0;
        let new_disk = flatten(&content(new_models), sectors);

        let reader = open(&dir.path().join("disk.vhd"));
        let np = open(&dir.path().join("new-parent.vhd"));
        let mut opts = AnalyzeOptions::default();
        opts.max_listed = 1000;
        let a = analyze(&reader, Some(&np), &opts).unwrap();

        // Ownership.
        let owned: u64 = child.bits.ranges().iter().map(|&(s, e, ())| e - s).sum();
        let l0 = &a.levels[0];
        assert_eq!(l0.owned_sectors, owned, "mbr={mbr}");
        let blocks: std::collections::BTreeSet<u64> =
            child.bits.ranges().iter().flat_map(|&(s, e, ())| (s / 1024)..=((e - 1) / 1024)).collect();
        assert_eq!(l0.allocated_blocks, blocks.len() as u64);
        assert_eq!(l0.allocated_sectors, blocks.len() as u64 * 1024);
        assert_eq!(l0.supplied_bytes, owned * 512);
        let mut parent_only = parent.bits.clone();
        for &(s, e, ()) in child.bits.ranges() {
            parent_only.remove(s, e);
        }
        let p_sup: u64 = parent_only.ranges().iter().map(|&(s, e, ())| e - s).sum();
        assert_eq!(a.levels[1].supplied_bytes, p_sup * 512);
        assert_eq!(a.unsupplied_bytes, sectors * 512 - (owned + p_sup) * 512);

        // Waste: redundant and zero sectors of the child.
        let child_sectors: Vec<u64> = child.bits.ranges().iter().flat_map(|&(s, e, ())| s..e).collect();
        let redundant = child_sectors.iter().filter(|&&s| sector(&chain_disk, s) == sector(&old_disk, s)).count();
        let zero = child_sectors.iter().filter(|&&s| sector(&chain_disk, s).iter().all(|&b| b == 0)).count();
        let zero_over_zero = child_sectors
            .iter()
            .filter(|&&s| {
                sector(&chain_disk, s).iter().all(|&b| b == 0) && sector(&old_disk, s).iter().all(|&b| b == 0)
            })
            .count();
        let w = l0.waste.as_ref().unwrap();
        assert_eq!(w.redundant_sectors, redundant as u64, "mbr={mbr}");
        assert!(redundant >= 48, "the scenario rewrites template clusters with their bytes");
        assert_eq!((w.zero_sectors, w.zero_over_zero_sectors), (zero as u64, zero_over_zero as u64));
        assert_eq!(w.empty_blocks, 0);

        // Alignment: partition start and 4 KiB clusters (no boot sector), bitmap bytes.
        let al = &a.alignment;
        assert_eq!(al.partitions.len(), 1);
        let start = al.partitions[0].first_sector;
        assert_eq!(start, if mbr { 63 } else { 2048 });
        let r = runs(&child.bits);
        let in_cluster = |x: u64| x >= start && !(x - start).is_multiple_of(8);
        let la = &al.levels[0];
        assert_eq!(la.owned_runs, r.len() as u64);
        assert_eq!(la.start_inside_cluster, r.iter().filter(|&&(s, _)| in_cluster(s)).count() as u64);
        assert_eq!(la.end_inside_cluster, r.iter().filter(|&&(_, e)| in_cluster(e)).count() as u64);
        assert_eq!(la.start_inside_bitmap_byte, r.iter().filter(|&&(s, _)| !s.is_multiple_of(8)).count() as u64);
        assert_eq!(la.end_inside_bitmap_byte, r.iter().filter(|&&(_, e)| !e.is_multiple_of(8)).count() as u64);

        // Template update.
        let changed: Vec<u64> = (0..sectors).filter(|&s| sector(&old_disk, s) != sector(&new_disk, s)).collect();
        let owned_by_child = |s: u64| child.bits.covers(s, s + 1);
        let safe = changed.iter().filter(|&&s| !owned_by_child(s)).count() as u64;
        let red =
            changed.iter().filter(|&&s| owned_by_child(s) && sector(&chain_disk, s) == sector(&new_disk, s)).count();
        let conflicts: Vec<u64> = changed
            .iter()
            .copied()
            .filter(|&s| owned_by_child(s) && sector(&chain_disk, s) != sector(&new_disk, s))
            .collect();
        let u = a.update.as_ref().unwrap();
        assert_eq!(u.changed_sectors, changed.len() as u64);
        assert_eq!((u.safe.sectors, u.redundant.sectors), (safe, red as u64));
        assert_eq!(u.conflicts.sectors, conflicts.len() as u64);
        assert!(!conflicts.is_empty() && red > 0 && safe > 0, "every kind occurs: {u:?}");
        let clusters: std::collections::BTreeSet<u64> = conflicts.iter().map(|&s| (s - start) / 8).collect();
        let pc = u.conflict_clusters.iter().find(|p| p.partition == Some(1)).unwrap();
        assert_eq!(pc.clusters, clusters.len() as u64);
        assert_eq!(pc.listed, clusters.iter().copied().collect::<Vec<_>>());

        // The other child wrote outside the changed sectors: safe to re-point.
        let clean = open(&dir.path().join("clean.vhd"));
        let b = analyze(&clean, Some(&np), &opts).unwrap();
        assert!(b.update.unwrap().is_safe());
    }
}

/// Writes a child (from the scenario) over a copy of `old_base` in `dir` (as `parent1.vhd`),
/// analyses it against the new template `new_path`, and checks the update split and the
/// child's redundant sectors against 7-Zip's flattening of the child chain and both templates
/// (owned sectors from the scenario model). Returns the analysis.
fn cross_check_with_7zip(dir: &Path, old_base: &Path, new_path: &Path) -> vhd_validator::analyze::Analysis {
    let bytes = std::fs::read(old_base).unwrap();
    let footer = &bytes[bytes.len() - 512..];
    let uid = vhd_validator::hex::encode(&footer[68..84]);
    let ts = u32::from_be_bytes(footer[24..28].try_into().unwrap());
    let size = u64::from_be_bytes(footer[48..56].try_into().unwrap());
    let sectors = size / 512;
    let text = format!(
        "description: cross-check\nseed: 5\nimage:\n  type: differencing\n  size: {size}\n  block_size: 2 MiB\n\
         \x20 header: {{parent_unique_id: '{uid}', parent_timestamp: {ts}}}\n  writes:\n\
         \x20   - {{sector: 136, count: 64, pattern: {{fill: 3}}}}\n\
         \x20   - {{sector: 4000, count: 300, pattern: {{counter: 9}}, repeat: {{count: 4, stride: 1000}}}}\n\
         \x20   - {{sector: {z}, count: 100, pattern: zero}}\n\
         \x20 parent:\n    type: dynamic\n    size: {size}\n",
        z = sectors - 1000,
    );
    let (models, _) = generate(&text, dir);
    std::fs::copy(old_base, dir.join("parent1.vhd")).unwrap();

    let flat = |p: &Path| -> Vec<u8> {
        let out = Command::new("7zz").args(["e", "-so", "-tvhd", "-bd"]).arg(p).current_dir(dir).output().unwrap();
        assert!(out.status.success(), "7zz failed on {}", p.display());
        out.stdout
    };
    let child = flat(&dir.join("disk.vhd"));
    let old = flat(&dir.join("parent1.vhd"));
    let new = flat(new_path);
    assert_eq!((child.len() as u64, old.len() as u64, new.len() as u64), (size, size, size));

    let reader = open(&dir.join("disk.vhd"));
    let np = open(new_path);
    let a = analyze(&reader, Some(&np), &AnalyzeOptions::default()).unwrap();
    let bits = &models[0].bits;
    let owned = |s: u64| bits.covers(s, s + 1);
    let changed: Vec<u64> = (0..sectors).filter(|&s| sector(&old, s) != sector(&new, s)).collect();
    let u = a.update.as_ref().unwrap();
    assert!(!changed.is_empty());
    assert_eq!(u.changed_sectors, changed.len() as u64);
    assert_eq!(u.safe.sectors, changed.iter().filter(|&&s| !owned(s)).count() as u64);
    assert_eq!(
        u.redundant.sectors,
        changed.iter().filter(|&&s| owned(s) && sector(&child, s) == sector(&new, s)).count() as u64
    );
    assert_eq!(
        u.conflicts.sectors,
        changed.iter().filter(|&&s| owned(s) && sector(&child, s) != sector(&new, s)).count() as u64
    );
    let child_sectors: Vec<u64> = bits.ranges().iter().flat_map(|&(s, e, ())| s..e).collect();
    let w = a.levels[0].waste.as_ref().unwrap();
    assert_eq!(
        w.redundant_sectors,
        child_sectors.iter().filter(|&&s| sector(&child, s) == sector(&old, s)).count() as u64
    );
    assert_eq!(a.levels[0].owned_sectors, child_sectors.len() as u64);
    a
}

/// A child over the real `windows-dynamic.vhd` (NTFS in an MBR partition), with
/// `windows-fixed.vhd` as the new template.
#[test]
fn update_over_a_real_template_matches_7zip_flattening() {
    let Some(real) = vhd_testkit::real_fixtures() else { return };
    if !vhd_testkit::have_7zz() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let new_path = dir.path().join("new.vhd");
    std::fs::copy(real.join("windows-fixed.vhd"), &new_path).unwrap();
    let a = cross_check_with_7zip(dir.path(), &real.join("windows-dynamic.vhd"), &new_path);
    assert!(a.update.as_ref().unwrap().conflicts.sectors > 0);
    // The real image's MBR partition and NTFS cluster size are found.
    assert_eq!(a.alignment.partitions.first().map(|p| p.cluster_source), Some("ntfs"));
}

/// A child over a dynamic base that qemu-img created and qemu-io wrote; the new template is a
/// copy that qemu-io changed over and beside the child's writes.
#[test]
fn update_over_a_qemu_img_template_matches_7zip_flattening() {
    if !vhd_testkit::have_qemu() || !vhd_testkit::have_7zz() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.vhd");
    let qemu = |args: &[&str]| {
        let st = Command::new(args[0]).args(&args[1..]).stdout(std::process::Stdio::null()).status().unwrap();
        assert!(st.success(), "{args:?}");
    };
    let b = base.to_str().unwrap();
    qemu(&["qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=dynamic", b, "8M"]);
    qemu(&["qemu-io", "-f", "vpc", "-c", "write -P 0x11 0 1M", "-c", "write -P 0x22 3M 64k", b]);
    let new_path = dir.path().join("new.vhd");
    std::fs::copy(&base, &new_path).unwrap();
    let n = new_path.to_str().unwrap();
    // Over the child's fill-3 sectors 136..200 (bytes 68 KiB..100 KiB) and its counter runs.
    qemu(&["qemu-io", "-f", "vpc", "-c", "write -P 0x33 64k 8k", "-c", "write -P 0x44 2000k 16k", n]);
    qemu(&["qemu-io", "-f", "vpc", "-c", "write -P 0x03 80k 4k", "-c", "write -P 0x55 5M 4k", n]);
    let a = cross_check_with_7zip(dir.path(), &base, &new_path);
    let u = a.update.as_ref().unwrap();
    assert!(u.conflicts.sectors > 0 && u.redundant.sectors > 0 && u.safe.sectors > 0, "{u:?}");
}
