//! `vhd-validate analyze`: where the space of a differencing chain goes, and what a template
//! update would break (JSON schema: docs/ANALYZE.md).

use crate::report::{format_size, tool, Tool};
use crate::{error, Fatal, Outcome, Status};
use clap::ValueEnum;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use vhd_validator::analyze::map::Map;
use vhd_validator::analyze::{analyze, Analysis, AnalyzeOptions};
use vhd_validator::chain::resolve::walk_chain;
use vhd_validator::chain::{ChainReader, ReadError};
use vhd_validator::check::CheckOptions;
use vhd_validator::finding::escape_text;
use vhd_validator::io::FileSource;

/// Analyse differencing chains: ownership per level and block, waste (redundant writes, zero
/// sectors, empty blocks, compaction savings), alignment of owned runs with partitions,
/// clusters and sector-bitmap bytes, and with `--new-parent` what re-pointing each child onto a
/// new template would do.
///
/// Parents are found as `check` finds them. Exit status: 0 done (every child safe to re-point),
/// 1 a template update has conflicts, 2 an input could not be read.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Child images (each the top of its chain); several children of one template give one
    /// update table.
    #[arg(required = true, value_name = "CHAIN")]
    pub chains: Vec<PathBuf>,

    /// A new version of the children's parent (same virtual size): report the sectors that
    /// differ from the old parent as safe, redundant or conflicting per child.
    #[arg(long, value_name = "NEW")]
    pub new_parent: Option<PathBuf>,

    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Draw an SVG map of the (first) chain's virtual disk coloured by supplying level, with
    /// redundant and conflicting runs marked; written to a temporary file beside FILE, then
    /// renamed.
    #[arg(long, value_name = "FILE.svg")]
    pub map: Option<PathBuf>,

    /// File system cluster size in bytes (a power of two, 512 to 2 MiB) for every partition;
    /// default: the partition's NTFS or FAT32 boot sector, else 4096.
    #[arg(long, value_name = "N", value_parser = parse_cluster)]
    pub cluster_size: Option<u64>,

    /// Most entries listed per list (blocks, ranges, worst clusters).
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_listed: u64,

    #[command(flatten)]
    pub chain: crate::ChainArgs,

}

/// `--format` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable sections per chain and one update table.
    Text,
    /// One JSON document (docs/ANALYZE.md).
    Json,
}

fn parse_cluster(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if (512..=2 << 20).contains(&n) && n.is_power_of_two() => Ok(n),
        _ => Err(format!("`{s}` is not a cluster size (a power of two from 512 to 2097152 bytes)")),
    }
}

/// Cells of the map: 64 columns by up to 64 rows; a disk of at most 4096 sectors is drawn one
/// cell per sector (exact).
const MAP_CELLS: usize = 4096;
const MAP_COLUMNS: usize = 64;

#[derive(Serialize)]
struct ChainOut<'a> {
    path: String,
    files: Vec<String>,
    #[serde(flatten)]
    analysis: &'a Analysis,
    verdict: Option<String>,
}

#[derive(Serialize)]
struct Document<'a> {
    format_version: u32,
    tool: Tool,
    new_parent: Option<String>,
    chains: Vec<ChainOut<'a>>,
    errors: Vec<String>,
}

/// Opens `path` with its parents as `check` resolves them; returns the reader and the files.
fn open(path: &Path, opts: &CheckOptions) -> Result<(ChainReader, Vec<String>), ReadError> {
    let src = FileSource::open(path)?;
    let chain = walk_chain(path, src, opts);
    let files = chain.links.iter().map(|l| l.path.display().to_string()).collect();
    Ok((ChainReader::from_resolved(chain)?, files))
}

fn verdict(a: &Analysis) -> Option<String> {
    a.update.as_ref().map(|u| {
        if u.is_safe() {
            "safe to re-point".to_string()
        } else {
            format!("{} conflicting sectors", u.conflicts.sectors)
        }
    })
}

/// Runs `analyze`.
pub fn run(args: Args) -> Outcome {
    if args.map.is_some() && args.chains.len() > 1 {
        return Err(Fatal::msg("--map draws one chain; give one CHAIN"));
    }
    let opts = args.chain.read_options();
    let mut aopts = AnalyzeOptions::default();
    aopts.cluster_size = args.cluster_size;
    aopts.max_listed = usize::try_from(args.max_listed).unwrap_or(usize::MAX);
    aopts.map_cells = if args.map.is_some() { MAP_CELLS } else { 0 };
    let new_parent = match &args.new_parent {
        Some(p) => Some(open(p, &opts).map_err(|e| Fatal::msg(format!("cannot read {}: {e}", p.display())))?.0),
        None => None,
    };
    let mut status = Status::Pass;
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for path in &args.chains {
        let shown = path.display().to_string();
        match open(path, &opts).map_err(|e| e.to_string()).and_then(|(r, files)| {
            analyze(&r, new_parent.as_ref(), &aopts).map(|a| (a, files)).map_err(|e| e.to_string())
        }) {
            Ok((a, files)) => {
                if a.update.as_ref().is_some_and(|u| !u.is_safe()) {
                    status = status.max(Status::Fail);
                }
                results.push((shown, files, a));
            }
            Err(e) => {
                let msg = format!("cannot analyse {shown}: {e}");
                error(&msg);
                errors.push(msg);
                status = Status::Fatal;
            }
        }
    }
    if let (Some(dest), Some((_, _, a))) = (&args.map, results.first()) {
        if let Some(m) = &a.map {
            write_atomic(dest, &render_map(m, &args.chains[0].display().to_string()))
                .map_err(|e| Fatal::msg(format!("cannot write {}: {e}", dest.display())))?;
        }
    }
    let mut out = crate::stdout();
    match args.format {
        Format::Json => {
            let doc = Document {
                format_version: 1,
                tool: tool(),
                new_parent: args.new_parent.as_ref().map(|p| p.display().to_string()),
                chains: results
                    .iter()
                    .map(|(p, f, a)| ChainOut { path: p.clone(), files: f.clone(), analysis: a, verdict: verdict(a) })
                    .collect(),
                errors,
            };
            serde_json::to_writer_pretty(&mut out, &doc).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        Format::Text => write_text(&mut out, &results, args.new_parent.as_deref())?,
    }
    out.flush()?;
    Ok(status)
}

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        "0.0%".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

fn write_text(out: &mut dyn Write, results: &[(String, Vec<String>, Analysis)], np: Option<&Path>) -> std::io::Result<()> {
    for (path, files, a) in results {
        writeln!(out, "{}: virtual disk {}, {} level(s)", escape_text(path), format_size(a.virtual_size), a.levels.len())?;
        writeln!(out, "  ownership:")?;
        for (l, f) in a.levels.iter().zip(files) {
            writeln!(
                out,
                "    level {} {} ({}): {} allocated blocks, {} allocated sectors, {} owned, {} allocated but not owned; supplies {} ({})",
                l.level,
                l.kind,
                escape_text(f),
                l.allocated_blocks,
                l.allocated_sectors,
                l.owned_sectors,
                l.unowned_allocated_sectors,
                format_size(l.supplied_bytes),
                pct(l.supplied_bytes, a.virtual_size),
            )?;
        }
        writeln!(out, "    no level: {} ({}) reads as zero", format_size(a.unsupplied_bytes), pct(a.unsupplied_bytes, a.virtual_size))?;
        writeln!(out, "  waste:")?;
        for l in &a.levels {
            if let Some(w) = &l.waste {
                writeln!(
                    out,
                    "    level {}: {} redundant sectors, {} zero sectors ({} over zero, {} over data), {} empty blocks; compaction frees {} blocks, {}",
                    l.level,
                    w.redundant_sectors,
                    w.zero_sectors,
                    w.zero_over_zero_sectors,
                    w.zero_over_data_sectors,
                    w.empty_blocks,
                    w.freeable_blocks,
                    format_size(w.compaction_bytes)
                )?;
            }
        }
        writeln!(out, "    total: compaction frees {}", format_size(a.waste_total.compaction_bytes))?;
        let al = &a.alignment;
        match al.scheme {
            Some(s) => writeln!(out, "  alignment: {} partition table", format!("{s:?}").to_uppercase())?,
            None => writeln!(out, "  alignment: no partition table; {}-byte grid from sector 0", al.grid_cluster_size)?,
        }
        for p in &al.partitions {
            writeln!(
                out,
                "    partition {}: sectors {}..{} type {} {}cluster {} bytes ({})",
                p.number,
                p.first_sector,
                p.end_sector(),
                escape_text(&p.kind),
                if p.name.is_empty() { String::new() } else { format!("\"{}\" ", escape_text(&p.name)) },
                p.cluster_size,
                p.cluster_source
            )?;
        }
        for l in &al.levels {
            writeln!(
                out,
                "    level {}: {} owned runs; {} start and {} end inside a cluster; {} start and {} end inside a bitmap byte; {} split clusters",
                l.level,
                l.owned_runs,
                l.start_inside_cluster,
                l.end_inside_cluster,
                l.start_inside_bitmap_byte,
                l.end_inside_bitmap_byte,
                l.split_clusters
            )?;
            for w in &l.worst {
                let part = w.partition.map_or_else(|| "grid".to_string(), |n| format!("partition {n}"));
                writeln!(out, "      cluster at sector {} ({part}): {} boundaries", w.first_sector, w.boundaries)?;
            }
        }
        if let Some(u) = &a.update {
            writeln!(
                out,
                "  update: {} changed sectors: {} safe (not owned), {} safe (owned, equal to the new parent), {} conflicts",
                u.changed_sectors, u.safe.sectors, u.redundant.sectors, u.conflicts.sectors
            )?;
            for r in &u.conflicts.listed {
                writeln!(out, "    conflict: bytes {}..{}", r.offset, r.end())?;
            }
            for pc in &u.conflict_clusters {
                let part = pc.partition.map_or_else(|| "outside partitions".to_string(), |n| format!("partition {n}"));
                writeln!(out, "    {part}: {} conflicting clusters of {} bytes {:?}", pc.clusters, pc.cluster_size, pc.listed)?;
            }
        }
    }
    if let Some(np) = np {
        writeln!(out, "template update to {}:", escape_text(&np.display().to_string()))?;
        writeln!(out, "  {:<40} {:>10} {:>10} {:>10} {:>10}  verdict", "child", "changed", "safe", "redundant", "conflicts")?;
        for (path, _, a) in results {
            if let Some(u) = &a.update {
                writeln!(
                    out,
                    "  {:<40} {:>10} {:>10} {:>10} {:>10}  {}",
                    escape_text(path),
                    u.changed_sectors,
                    u.safe.sectors,
                    u.redundant.sectors,
                    u.conflicts.sectors,
                    verdict(a).unwrap_or_default()
                )?;
            }
        }
    }
    Ok(())
}

/// Level colours (child first), then "no level".
const COLOURS: [&str; 6] = ["#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#a6761d"];
const ZERO_COLOUR: &str = "#eeeeee";

/// The SVG of `m`: a grid of cells (64 per row) coloured by the topmost level supplying a byte,
/// redundant cells with a dark bar, conflicting cells outlined red, and a legend.
fn render_map(m: &Map, title: &str) -> String {
    use svg::node::element::{Rectangle, Text as SvgText, Title};
    use svg::Document;
    let cell = 10usize;
    let cols = MAP_COLUMNS;
    let rows = m.cells().div_ceil(cols).max(1);
    let legend_y = rows * cell + 20;
    let height = legend_y + 20 * (m.depth + 4);
    let mut doc = Document::new().set("viewBox", (0, 0, cols * cell, height)).set("width", cols * cell).set("height", height);
    doc = doc.add(Title::new(format!("{title}: {} cells of {} bytes", m.cells(), m.cell_bytes)));
    // One rectangle per run of equal cells in a row keeps the file small (a 2 TiB disk with
    // a few allocated regions draws a few hundred rectangles).
    let fill_of = |c: usize| m.top_level(c).map_or(ZERO_COLOUR, |l| COLOURS[l % COLOURS.len()]);
    let marked = |v: &[u64], c: usize| v.get(c).copied().unwrap_or(0) > 0;
    for row in 0..rows {
        let cells = (row * cols)..((row + 1) * cols).min(m.cells());
        let y = row * cell;
        for kind in 0..3 {
            let mut c = cells.start;
            while c < cells.end {
                let key = |c: usize| match kind {
                    0 => Some(fill_of(c)),
                    1 => marked(&m.redundant, c).then_some("#222222"),
                    _ => marked(&m.conflict, c).then_some("#ff0000"),
                };
                let k = key(c);
                let mut e = c + 1;
                while e < cells.end && key(e) == k {
                    e += 1;
                }
                if let Some(colour) = k {
                    let x = (c - cells.start) * cell;
                    let w = (e - c) * cell;
                    let r = Rectangle::new().set("x", x).set("width", w);
                    doc = doc.add(match kind {
                        0 => r.set("y", y).set("height", cell).set("fill", colour),
                        1 => r.set("y", y + cell - 3).set("height", 3).set("fill", colour),
                        _ => r.set("y", y + 1).set("height", cell - 2).set("fill", "none").set("stroke", colour).set("stroke-width", 2),
                    });
                }
                c = e;
            }
        }
    }
    let line = |doc: Document, i: usize, colour: &str, text: String| {
        let y = legend_y + 20 * i;
        doc.add(Rectangle::new().set("x", 0).set("y", y - 10).set("width", 10).set("height", 10).set("fill", colour)).add(
            SvgText::new(text).set("x", 16).set("y", y).set("font-size", 12).set("font-family", "sans-serif"),
        )
    };
    let exact = if m.cell_bytes == 512 { "exact: one cell per sector".to_string() } else { format!("one cell = {}", format_size(m.cell_bytes)) };
    doc = line(doc, 0, "#ffffff", format!("{} ({exact})", format_size(m.size)));
    for l in 0..m.depth {
        doc = line(doc, l + 1, COLOURS[l % COLOURS.len()], format!("level {l}{}", if l == 0 { " (child)" } else { "" }));
    }
    doc = line(doc, m.depth + 1, ZERO_COLOUR, "no level (zero)".into());
    doc = line(doc, m.depth + 2, "#222222", "dark bar: redundant write of the child".into());
    doc = line(doc, m.depth + 3, "#ff0000", "red outline: template-update conflict".into());
    doc.to_string()
}

/// Writes `text` to a temporary file beside `dest` and renames it over `dest`.
fn write_atomic(dest: &Path, text: &str) -> std::io::Result<()> {
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    vhd_validator::cleanup::watch(tmp.path());
    tmp.write_all(text.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(dest).map_err(|e| e.error)?;
    Ok(())
}
