//! Command templates: a command line with placeholders, run without a shell.
//!
//! A template is split into words the way a POSIX shell splits a simple command (by the
//! [`shlex`] crate): blanks separate words, `'...'` quotes literally, `"..."` quotes with `\"`,
//! `\\`, `\$` and `` \` `` escapes, a backslash outside quotes takes the next character
//! literally, and a word starting with `#` begins a comment that runs to the end of the line. There is no
//! expansion of variables, globs, pipes or redirections: the words are the program and its
//! arguments. A command that needs a shell says so (`sh -c '...'`), and should then read paths
//! from the environment (`"$VHD_IMAGE"`) rather than from placeholders, which are substituted
//! as plain text.
//!
//! Placeholders (`{image}`, `{out}`, `{dir}`, `{chain}`, `{case}` for readers; `{size}`, `{type}`,
//! `{out}`, `{dir}` for writers) are replaced inside any word, quoted or not. `{chain}` stands
//! for several words (the image and each ancestor, child first) and so must be a word of its
//! own. `{{` and `}}` are literal braces.

use std::ffi::OsString;
use std::fmt;

/// A placeholder of a command template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Placeholder {
    /// `{image}`: the absolute path of the case's main image (the child of a differencing chain).
    Image,
    /// `{out}`: the absolute path the command writes its result to (a raw virtual disk for a
    /// reader, a VHD image for a writer). A template without `{out}` writes the result to its
    /// standard output instead.
    Out,
    /// `{dir}`: the absolute path of the directory holding the main image (reader), or of the
    /// scratch directory the output is written in (writer).
    Dir,
    /// `{chain}`: the absolute paths of every image of the case's differencing chain, child first,
    /// as separate words.
    Chain,
    /// `{case}`: the case id (e.g. `footer/checksum-tail`).
    Case,
    /// `{size}`: the virtual disk size asked of a writer, in bytes.
    Size,
    /// `{type}`: the disk type asked of a writer, `fixed` or `dynamic`.
    Type,
}

impl Placeholder {
    /// Every placeholder.
    pub(crate) const ALL: [Placeholder; 7] = [
        Placeholder::Image,
        Placeholder::Out,
        Placeholder::Dir,
        Placeholder::Chain,
        Placeholder::Case,
        Placeholder::Size,
        Placeholder::Type,
    ];

    /// The placeholders of a reader template.
    pub(crate) const READER: &'static [Placeholder] =
        &[Placeholder::Image, Placeholder::Out, Placeholder::Dir, Placeholder::Chain, Placeholder::Case];

    /// The placeholders of a writer template.
    pub(crate) const WRITER: &'static [Placeholder] =
        &[Placeholder::Size, Placeholder::Type, Placeholder::Out, Placeholder::Dir];

    /// The name between the braces.
    pub fn name(self) -> &'static str {
        match self {
            Placeholder::Image => "image",
            Placeholder::Out => "out",
            Placeholder::Dir => "dir",
            Placeholder::Chain => "chain",
            Placeholder::Case => "case",
            Placeholder::Size => "size",
            Placeholder::Type => "type",
        }
    }

    fn parse(name: &str) -> Option<Placeholder> {
        Placeholder::ALL.into_iter().find(|p| p.name() == name)
    }
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{}}}", self.name())
    }
}

/// Why a template could not be parsed or expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The template has no words.
    #[error("the command template is empty")]
    Empty,
    /// A quote is not closed, or the template ends in a lone backslash.
    #[error("unterminated quote or trailing backslash in the command template")]
    Unterminated,
    /// A `{name}` that is not a placeholder of this kind of template (or a lone brace).
    #[error("unknown placeholder `{{{0}}}` in the command template (placeholders: {1}; write `{{{{` and `}}}}` for literal braces)")]
    Unknown(String, String),
    /// A multi-word placeholder inside a larger word.
    #[error("`{0}` stands for several words and must be a word of its own")]
    NotAlone(Placeholder),
    /// A placeholder the template must use is missing.
    #[error("the command template must use {0}")]
    Missing(String),
}

/// One piece of a word.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    Slot(Placeholder),
}

/// A parsed command template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    text: String,
    words: Vec<Vec<Part>>,
}

fn allowed_list(allowed: &[Placeholder]) -> String {
    allowed.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ")
}

impl Template {
    /// Parses `text`, accepting the placeholders in `allowed`.
    ///
    /// # Errors
    /// [`TemplateError`] for an empty template, an unterminated quote, an unknown placeholder or
    /// `{chain}` inside a larger word.
    pub fn parse(text: &str, allowed: &[Placeholder]) -> Result<Template, TemplateError> {
        let split = shlex::split(text).ok_or(TemplateError::Unterminated)?;
        let words = split.iter().map(|w| parse_word(w, allowed)).collect::<Result<Vec<_>, _>>()?;
        if words.is_empty() {
            return Err(TemplateError::Empty);
        }
        for w in &words {
            if w.len() > 1 && w.contains(&Part::Slot(Placeholder::Chain)) {
                return Err(TemplateError::NotAlone(Placeholder::Chain));
            }
        }
        Ok(Template { text: text.to_string(), words })
    }

    /// A template from words given one by one: a word that is exactly `{name}` of an allowed
    /// placeholder is that placeholder, every other word is literal (no quoting, no
    /// placeholders inside it). `display` is what reports show as the command. An empty list
    /// gives a template of no words, which [`super::exec::run`] refuses to run.
    pub(crate) fn from_words(words: &[&str], allowed: &[Placeholder], display: &str) -> Template {
        let out: Vec<Vec<Part>> = words
            .iter()
            .map(|w| {
                let slot = w
                    .strip_prefix('{')
                    .and_then(|r| r.strip_suffix('}'))
                    .and_then(Placeholder::parse)
                    .filter(|p| allowed.contains(p));
                match slot {
                    Some(p) => vec![Part::Slot(p)],
                    None => vec![Part::Literal((*w).to_string())],
                }
            })
            .collect();
        Template { text: display.to_string(), words: out }
    }

    /// The template as written (or the display text of [`Template::from_words`]).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the template uses `p`.
    pub(crate) fn uses(&self, p: Placeholder) -> bool {
        self.words.iter().flatten().any(|part| *part == Part::Slot(p))
    }

    /// Requires that at least one of `any_of` is used.
    ///
    /// # Errors
    /// [`TemplateError::Missing`] naming them.
    pub(crate) fn require(&self, any_of: &[Placeholder]) -> Result<(), TemplateError> {
        if any_of.iter().any(|p| self.uses(*p)) {
            Ok(())
        } else {
            let names: Vec<String> = any_of.iter().map(|p| p.to_string()).collect();
            Err(TemplateError::Missing(names.join(" or ")))
        }
    }

    /// The command words with every placeholder replaced by `value(p)`: a placeholder that is a
    /// word of its own becomes one word per value (none for an empty list), one inside a larger
    /// word becomes its values joined by spaces.
    pub fn expand(&self, value: &dyn Fn(Placeholder) -> Vec<OsString>) -> Vec<OsString> {
        let mut argv = Vec::new();
        for w in &self.words {
            if let [Part::Slot(p)] = w.as_slice() {
                argv.extend(value(*p));
                continue;
            }
            let mut s = OsString::new();
            for part in w {
                match part {
                    Part::Literal(l) => s.push(l),
                    Part::Slot(p) => {
                        for (i, v) in value(*p).iter().enumerate() {
                            if i > 0 {
                                s.push(" ");
                            }
                            s.push(v);
                        }
                    }
                }
            }
            argv.push(s);
        }
        argv
    }
}

/// The placeholders and literal pieces of one word (already unquoted).
fn parse_word(word: &str, allowed: &[Placeholder]) -> Result<Vec<Part>, TemplateError> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' | '}' if chars.peek() == Some(&c) => {
                chars.next();
                lit.push(c);
            }
            '{' => {
                let mut name = String::new();
                let mut closed = false;
                for n in chars.by_ref() {
                    if n == '}' {
                        closed = true;
                        break;
                    }
                    name.push(n);
                }
                let p = Placeholder::parse(&name).filter(|p| closed && allowed.contains(p));
                let Some(p) = p else {
                    return Err(TemplateError::Unknown(name, allowed_list(allowed)));
                };
                flush_lit(&mut lit, &mut parts);
                parts.push(Part::Slot(p));
            }
            '}' => return Err(TemplateError::Unknown("}".into(), allowed_list(allowed))),
            _ => lit.push(c),
        }
    }
    flush_lit(&mut lit, &mut parts);
    Ok(parts)
}

fn flush_lit(lit: &mut String, word: &mut Vec<Part>) {
    if !lit.is_empty() {
        word.push(Part::Literal(std::mem::take(lit)));
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(t: &str) -> Vec<String> {
        let t = Template::parse(t, Placeholder::READER).unwrap();
        t.expand(&|p| match p {
            Placeholder::Image => vec!["/c/a b.vhd".into()],
            Placeholder::Out => vec!["/o".into()],
            Placeholder::Chain => vec!["/c/1".into(), "/c/2".into()],
            _ => vec!["X".into()],
        })
        .into_iter()
        .map(|s| s.into_string().unwrap())
        .collect()
    }

    #[test]
    fn splits_like_a_shell_and_substitutes_whole_values() {
        assert_eq!(
            words("qemu-img convert -f vpc -O raw {image} {out}"),
            ["qemu-img", "convert", "-f", "vpc", "-O", "raw", "/c/a b.vhd", "/o"]
        );
        assert_eq!(words(r#"sh -c 'cp {image} {out}' x"#), ["sh", "-c", "cp /c/a b.vhd /o", "x"]);
        assert_eq!(words(r#"a "b \"c\" \n" d\ e --x={out}.raw"#), ["a", r#"b "c" \n"#, "d e", "--x=/o.raw"]);
        assert_eq!(words("tool {chain} -o {out}"), ["tool", "/c/1", "/c/2", "-o", "/o"]);
        assert_eq!(words("awk '{{print}}' ''"), ["awk", "{print}", ""]);
        assert_eq!(words("cat {image} # a comment {size}"), ["cat", "/c/a b.vhd"]);
    }

    #[test]
    fn rejects_bad_templates() {
        let r = |t: &str| Template::parse(t, Placeholder::READER).unwrap_err();
        assert_eq!(r(""), TemplateError::Empty);
        assert_eq!(r("   "), TemplateError::Empty);
        assert_eq!(r("a 'b"), TemplateError::Unterminated);
        assert_eq!(r("a \"b"), TemplateError::Unterminated);
        assert_eq!(r("a b\\"), TemplateError::Unterminated);
        assert_eq!(r("# only a comment"), TemplateError::Empty);
        assert!(matches!(r("a {size}"), TemplateError::Unknown(n, _) if n == "size"));
        assert!(matches!(r("a {image"), TemplateError::Unknown(..)));
        assert!(matches!(r("awk '{print}'"), TemplateError::Unknown(..)));
        assert_eq!(r("a --in={chain}"), TemplateError::NotAlone(Placeholder::Chain));
    }

    #[test]
    fn requirements_and_from_words() {
        let t = Template::parse("cat {image}", Placeholder::READER).unwrap();
        assert!(t.uses(Placeholder::Image) && !t.uses(Placeholder::Out));
        assert!(t.require(&[Placeholder::Image, Placeholder::Chain]).is_ok());
        assert!(t.require(&[Placeholder::Out]).is_err());
        let t = Template::from_words(&["py", "-c", "print({'a': 1})", "{image}"], Placeholder::READER, "py -c S");
        let argv = t.expand(&|_| vec!["I".into()]);
        assert_eq!(argv, ["py", "-c", "print({'a': 1})", "I"]);
        assert_eq!(t.to_string(), "py -c S");
    }
}
