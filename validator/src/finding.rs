//! Findings: what the validator reports. Findings are data, never the first error.

use crate::rules::{Code, Profile, Severity};
use serde::Serialize;
use std::any::Any;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// One departure from the specification, located precisely.
///
/// `offset` and `length` are in bytes from the start of `file`. `path` names the structure in
/// the field's terms, e.g. `footer.checksum`, `bat[17]`, `header.parent_locator[2].data_offset`,
/// `block[3].bitmap`, `chain[1]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable rule code (see the catalogue).
    pub code: Code,
    /// Severity under the profile the report was made with.
    pub severity: Severity,
    /// The file the finding is about, as given on the command line or resolved for a parent
    /// (shared by the findings of one report).
    pub file: Text,
    /// Byte offset into `file`.
    pub offset: u64,
    /// Length in bytes of the offending range (0 when the finding is about a position only).
    pub length: u64,
    /// Structure path.
    pub path: Text,
    /// What the spec (or consistency) requires, when it is a single value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Text>,
    /// What the image holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<Text>,
    /// Human-readable explanation; may change between versions, unlike `code`. Often
    /// formatted lazily ([`Text::lazy`]): only when it is displayed, serialized or read.
    pub message: Text,
}

impl Finding {
    /// A finding with the rule's strict severity and no file name yet (the checker fills it in).
    pub fn new(code: Code, offset: u64, length: u64, path: impl Into<Text>, message: impl Into<Text>) -> Finding {
        Finding {
            code,
            severity: code.rule().strict,
            file: Text::default(),
            offset,
            length,
            path: path.into(),
            expected: None,
            actual: None,
            message: message.into(),
        }
    }

    /// Sets the expected value.
    pub fn expected(mut self, v: impl fmt::Display) -> Finding {
        self.expected = Some(Text::format(format_args!("{v}")));
        self
    }

    /// Sets the actual value.
    pub fn actual(mut self, v: impl fmt::Display) -> Finding {
        self.actual = Some(Text::format(format_args!("{v}")));
        self
    }

    /// Re-grades the finding for `profile` (a profile never adds or removes findings).
    pub fn with_profile(mut self, profile: Profile) -> Finding {
        self.severity = self.code.rule().severity(profile);
        self
    }

    /// Deterministic report order: file, offset, code, path.
    pub fn sort_key(&self) -> (&str, u64, Code, &str, u64) {
        (self.file.as_str(), self.offset, self.code, self.path.as_str(), self.length)
    }
}

/// Sorts findings into the deterministic report order and removes exact duplicates.
pub fn normalize(findings: &mut Vec<Finding>) {
    // The order of `sort_key`, compared without building the key: texts as bytes (the order
    // of `str`), and the file, shared by most findings of a report, compared by address first.
    findings.sort_by(|a, b| {
        a.file
            .cmp_bytes(&b.file)
            .then(a.offset.cmp(&b.offset))
            .then(a.code.cmp(&b.code))
            .then_with(|| a.path.cmp_bytes(&b.path))
            .then(a.length.cmp(&b.length))
    });
    findings.dedup();
}

/// The highest severity among `findings`, if any.
pub fn worst(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} {}:{} [{}] {}", self.severity, self.code, self.file, self.offset, self.path, self.message)?;
        match (&self.expected, &self.actual) {
            (Some(e), Some(a)) => write!(f, " (expected {e}, found {a})"),
            (None, Some(a)) => write!(f, " (found {a})"),
            (Some(e), None) => write!(f, " (expected {e})"),
            (None, None) => Ok(()),
        }
    }
}

/// Text of a finding (its file, structure path, expected and actual values and message): an
/// immutable string that is cheap to build, so that an image with hundreds of findings (or a
/// fuzzer running millions of checks) does not pay for a heap string per field.
///
/// A `Text` is one of: a `&'static str` (no allocation), a short string of at most 30 bytes
/// held inline (most paths and values: `bat[1234]`, `0xffffffff`), a shared heap string
/// ([`Text::shared`]: cloning it does not copy, so every finding of a report shares its file
/// name), a heap string, or a message
/// formatted lazily from its arguments ([`Text::lazy`]): it is rendered when displayed,
/// serialized or read as a `&str` (then kept), and two lazy texts from the same call site
/// compare by their arguments without being rendered. It dereferences to `str`, displays,
/// compares, orders and serializes exactly as the string it stands for.
#[derive(Clone)]
pub struct Text(Repr);

/// Bytes a [`Text`] holds without allocating.
const INLINE: usize = 30;

#[derive(Clone)]
enum Repr {
    Static(&'static str),
    Inline(u8, [u8; INLINE]),
    Owned(String),
    Shared(Arc<str>),
    Lazy(Arc<dyn Render>),
}

/// A lazily formatted text: its arguments and how to render them.
trait Render: Send + Sync {
    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
    /// The rendered text, formatted on first use and then kept.
    fn text(&self) -> &str;
    /// `Some(true)` when `other` comes from the same renderer with equal arguments (so renders
    /// the same text), `None` when that cannot be told without rendering.
    fn same(&self, other: &dyn Render) -> Option<bool>;
    fn as_any(&self) -> &dyn Any;
}

struct Lazy<A, F> {
    args: A,
    render: F,
    cache: OnceLock<Box<str>>,
}

impl<A, F> Render for Lazy<A, F>
where
    A: PartialEq + Send + Sync + 'static,
    F: Fn(&A, &mut fmt::Formatter<'_>) -> fmt::Result + Send + Sync + 'static,
{
    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.render)(&self.args, f)
    }

    fn text(&self) -> &str {
        self.cache.get_or_init(|| Rendered(self).to_string().into_boxed_str())
    }

    fn same(&self, other: &dyn Render) -> Option<bool> {
        let other = other.as_any().downcast_ref::<Self>()?;
        (self.args == other.args).then_some(true)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Displays a [`Render`] (no padding: a renderer writes its text as it is).
struct Rendered<'a>(&'a dyn Render);

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.render(f)
    }
}

/// Formats into an inline buffer, moving to the heap once the text outgrows it.
struct Builder {
    len: usize,
    buf: [u8; INLINE],
    heap: Option<String>,
}

impl fmt::Write for Builder {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if let Some(h) = &mut self.heap {
            h.push_str(s);
            return Ok(());
        }
        match self.buf.get_mut(self.len..self.len + s.len()) {
            Some(dst) => {
                dst.copy_from_slice(s.as_bytes());
                self.len += s.len();
            }
            None => {
                let mut h = String::with_capacity(self.len + s.len() + 32);
                h.push_str(std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default());
                h.push_str(s);
                self.heap = Some(h);
            }
        }
        Ok(())
    }
}

impl Text {
    /// A text formatted now from `args` (`format_args!`): held inline when it is at most 30
    /// bytes, without formatting when `args` is a plain string literal.
    pub fn format(args: fmt::Arguments<'_>) -> Text {
        if let Some(s) = args.as_str() {
            return Text(Repr::Static(s));
        }
        let mut b = Builder { len: 0, buf: [0; INLINE], heap: None };
        let _ = fmt::write(&mut b, args);
        match b.heap {
            Some(h) => Text(Repr::Owned(h)),
            None => Text(Repr::Inline(b.len as u8, b.buf)),
        }
    }

    /// A text rendered from `args` by `render` only when it is displayed, serialized or read
    /// as a `&str`. `render` must depend on nothing but `args` (a closure that captures
    /// nothing): two lazy texts with the same `render` and equal `args` are equal without
    /// being rendered. [`lazy_text!`](crate::lazy_text) builds one from a format string.
    pub fn lazy<A, F>(args: A, render: F) -> Text
    where
        A: PartialEq + Send + Sync + 'static,
        F: Fn(&A, &mut fmt::Formatter<'_>) -> fmt::Result + Send + Sync + 'static,
    {
        const { assert!(std::mem::size_of::<F>() == 0, "a lazy text's renderer must capture nothing") };
        Text(Repr::Lazy(Arc::new(Lazy { args, render, cache: OnceLock::new() })))
    }

    /// A text shared by its clones (cloning it does not copy it): a report's file name.
    pub fn shared(s: &str) -> Text {
        Text(Repr::Shared(Arc::from(s)))
    }

    /// The bytes of the text, without checking them again (a lazy text is rendered once).
    fn bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline(len, buf) => buf.get(..usize::from(*len)).unwrap_or_default(),
            _ => self.as_str().as_bytes(),
        }
    }

    /// `self.as_str().cmp(other.as_str())`, cheaper: shared texts compare by address first.
    fn cmp_bytes(&self, other: &Text) -> std::cmp::Ordering {
        match (&self.0, &other.0) {
            (Repr::Shared(a), Repr::Shared(b)) if Arc::ptr_eq(a, b) => std::cmp::Ordering::Equal,
            (Repr::Static(a), Repr::Static(b)) if std::ptr::eq(*a, *b) => std::cmp::Ordering::Equal,
            _ => self.bytes().cmp(other.bytes()),
        }
    }

    /// The text as a string slice (a lazy text is rendered once and kept).
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            Repr::Inline(len, buf) => {
                buf.get(..usize::from(*len)).and_then(|b| std::str::from_utf8(b).ok()).unwrap_or("")
            }
            Repr::Owned(s) => s,
            Repr::Shared(s) => s,
            Repr::Lazy(l) => l.text(),
        }
    }

    /// Whether the text is empty (a lazy text is rendered only up to its first byte).
    pub fn is_empty(&self) -> bool {
        struct First(bool);
        impl fmt::Write for First {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                if s.is_empty() {
                    return Ok(());
                }
                self.0 = true;
                Err(fmt::Error)
            }
        }
        match &self.0 {
            Repr::Lazy(l) => {
                let mut w = First(false);
                let _ = fmt::write(&mut w, format_args!("{}", Rendered(l.as_ref())));
                !w.0
            }
            _ => self.as_str().is_empty(),
        }
    }
}

/// Builds a lazily formatted [`Text`] from a format string whose placeholders name their
/// arguments: `lazy_text!("block {n} ends at {end:#x}", n, end = start + len)`. Each argument
/// is evaluated now and kept; the string is formatted only when the text is read.
#[macro_export]
macro_rules! lazy_text {
    ($fmt:literal $(, $name:ident $(= $value:expr)?)* $(,)?) => {
        $crate::finding::Text::lazy(
            ($($crate::lazy_text!(@value $name $(= $value)?),)*),
            |($($name,)*): &_, f: &mut ::std::fmt::Formatter<'_>| {
                $(let _ = &$name;)*
                ::std::write!(f, $fmt)
            },
        )
    };
    (@value $name:ident) => { $name };
    (@value $name:ident = $value:expr) => { $value };
}

impl Default for Text {
    fn default() -> Text {
        Text(Repr::Static(""))
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&'static str> for Text {
    fn from(s: &'static str) -> Text {
        Text(Repr::Static(s))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        if s.len() <= INLINE {
            let mut buf = [0; INLINE];
            buf[..s.len()].copy_from_slice(s.as_bytes());
            return Text(Repr::Inline(s.len() as u8, buf));
        }
        Text(Repr::Owned(s))
    }
}

impl From<&Text> for Text {
    fn from(t: &Text) -> Text {
        t.clone()
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Text {
        Text::from(s.clone())
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        t.as_str().to_string()
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Lazy(l) if f.width().is_none() && f.precision().is_none() => l.render(f),
            _ => f.pad(self.as_str()),
        }
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        match (&self.0, &other.0) {
            (Repr::Lazy(a), Repr::Lazy(b)) if Arc::ptr_eq(a, b) || a.same(b.as_ref()) == Some(true) => true,
            (Repr::Lazy(_), _) | (_, Repr::Lazy(_)) => same_rendering(self, other),
            _ => self.cmp_bytes(other).is_eq(),
        }
    }
}

/// Whether `a` and `b` display the same text, compared as `a` is rendered (nothing kept).
fn same_rendering(a: &Text, b: &Text) -> bool {
    let rendered;
    let expected = match &b.0 {
        Repr::Lazy(_) if matches!(a.0, Repr::Lazy(_)) => {
            rendered = b.to_string();
            rendered.as_str()
        }
        Repr::Lazy(_) => return same_rendering(b, a),
        _ => b.as_str(),
    };
    renders_as(a, expected)
}

/// Whether `t` displays as `expected`, compared as it is rendered (nothing allocated).
fn renders_as(t: &Text, expected: &str) -> bool {
    /// Compares what is written with the rest of the expected bytes.
    struct Compare<'a>(&'a [u8], bool);
    impl fmt::Write for Compare<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            match self.0.strip_prefix(s.as_bytes()) {
                Some(rest) => {
                    self.0 = rest;
                    Ok(())
                }
                None => {
                    self.1 = false;
                    Err(fmt::Error)
                }
            }
        }
    }
    let mut w = Compare(expected.as_bytes(), true);
    let _ = fmt::write(&mut w, format_args!("{t}"));
    w.1 && w.0.is_empty()
}

impl Eq for Text {}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> std::cmp::Ordering {
        self.cmp_bytes(other)
    }
}

impl std::hash::Hash for Text {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        match &self.0 {
            Repr::Lazy(_) => renders_as(self, other),
            _ => self.as_str() == other,
        }
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        *self == *other.as_str()
    }
}

impl Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Repr::Lazy(_) => s.collect_str(self),
            _ => s.serialize_str(self.as_str()),
        }
    }
}

/// Makes text from an image or a file name inert for a terminal and a line-oriented report:
/// every control character becomes a visible escape (`\n`, `\r`, `\t`, `\0`, `\x1b` for the
/// other C0 controls and DEL, `\u{85}` for C1 controls, line and paragraph separators,
/// bidirectional and zero-width format characters), so a string can neither end a line, forge
/// another, nor move, recolour or retitle a terminal. Everything else (backslashes too) is kept.
pub fn escape_text(s: &str) -> std::borrow::Cow<'_, str> {
    fn hostile(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}')
            || matches!(c, '\u{2066}'..='\u{2069}' | '\u{feff}')
    }
    if !s.chars().any(hostile) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if hostile(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod escape_tests {
    use super::escape_text;

    #[test]
    fn control_characters_become_visible_escapes() {
        assert_eq!(escape_text("plain C:\\dir\\p.vhd"), "plain C:\\dir\\p.vhd");
        assert_eq!(escape_text("a\nb: PASS\r\0"), "a\\nb: PASS\\r\\0");
        assert_eq!(escape_text("\x1b]0;title\x07\x7f"), "\\x1b]0;title\\x07\\x7f");
        assert_eq!(escape_text("\u{85}\u{202e}\u{2028}x"), "\\u{85}\\u{202e}\\u{2028}x");
        assert!(!escape_text(&(0u8..=0x7f).map(char::from).collect::<String>()).chars().any(char::is_control));
    }
}

#[cfg(test)]
mod text_tests {
    use super::Text;

    #[test]
    fn every_form_reads_displays_and_serializes_as_its_string() {
        let long = "x".repeat(40);
        let n = 17u64;
        let forms = [
            (Text::from("footer.checksum"), "footer.checksum".to_string()),
            (Text::format(format_args!("bat[{n}]")), "bat[17]".to_string()),
            (Text::format(format_args!("{long}{n}")), format!("{long}17")),
            (Text::from(long.clone()), long.clone()),
            (Text::shared("dir/a.vhd"), "dir/a.vhd".to_string()),
            (lazy_text!("block {n} ends at {end:#x}", n, end = 0x600u64), "block 17 ends at 0x600".to_string()),
        ];
        for (t, s) in &forms {
            assert_eq!(t.as_str(), s);
            assert_eq!(t.to_string(), *s);
            assert_eq!(format!("{t:>50}"), format!("{s:>50}"));
            assert_eq!(format!("{t:?}"), format!("{s:?}"));
            assert_eq!(serde_json::to_string(t).ok(), serde_json::to_string(s).ok());
            assert!(*t == *s && *t == s.as_str() && t.clone() == *t);
            assert!(!t.is_empty());
        }
        assert!(Text::default().is_empty() && lazy_text!("").is_empty());
    }

    #[test]
    fn lazy_texts_compare_by_their_text() {
        let at = |n: u64| lazy_text!("block {n}", n);
        assert_eq!(at(1), at(1));
        assert_ne!(at(1), at(2));
        // Another call site or form with the same text is equal; a different text is not.
        assert_eq!(at(1), lazy_text!("block {m}", m = 1u64));
        assert_eq!(at(1), Text::from("block 1"));
        assert_eq!(Text::from("block 1"), at(1));
        assert_ne!(at(1), Text::from("block 1 "));
        assert_ne!(at(12), Text::from("block 1"));
        let (two, four) = (Text::from("block 2"), Text::from("block 4"));
        assert!(at(3) < four && at(3) > two);
    }
}
