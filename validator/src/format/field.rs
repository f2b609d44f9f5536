//! Field tables: one typed table per on-disk structure ([`super::footer::Field`],
//! [`super::header::Field`], [`super::locator::Field`]) gives each field's byte offset within
//! the structure, its length and the name findings use as its structure path component
//! (`footer.current_size`, `header.table_offset`, `header.parent_locator[2].data_offset`).
//! The codecs, the rules that locate findings and the generator's mutations all name fields
//! through these tables, so a field that does not exist is a compile error.

/// Declares a structure's field table: an enum with one variant per field and
/// `offset`/`len`/`range`/`name` from one `(offset, length, name)` row each.
macro_rules! field_table {
    (
        $(#[$meta:meta])*
        $structure:literal, $size:expr;
        $( $(#[$vmeta:meta])* $variant:ident = ($offset:expr, $len:expr, $name:literal), )*
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Field {
            $( $(#[$vmeta])* $variant, )*
        }

        impl Field {
            /// Every field, in on-disk order.
            pub const ALL: &'static [Field] = &[$(Field::$variant),*];

            /// Byte offset of the field within the structure.
            pub const fn offset(self) -> u64 {
                match self {
                    $(Field::$variant => $offset,)*
                }
            }

            /// Length of the field in bytes (never 0).
            #[allow(clippy::len_without_is_empty)]
            pub const fn len(self) -> u64 {
                match self {
                    $(Field::$variant => $len,)*
                }
            }

            /// The field's bytes within the structure's encoding.
            pub const fn range(self) -> core::ops::Range<usize> {
                self.offset() as usize..(self.offset() + self.len()) as usize
            }

            /// The structure path component findings use for the field (`current_size`).
            pub const fn name(self) -> &'static str {
                match self {
                    $(Field::$variant => $name,)*
                }
            }

            /// The field named `name` (as [`Field::name`] gives it), if any.
            pub fn from_name(name: &str) -> Option<Field> {
                Field::ALL.iter().copied().find(|f| f.name() == name)
            }

            /// File offset of the field when the structure starts at `base` (saturating).
            pub const fn at(self, base: u64) -> u64 {
                base.saturating_add(self.offset())
            }
        }

        #[cfg(test)]
        mod field_table_tests {
            use super::*;

            #[test]
            fn fields_tile_the_structure_in_order() {
                let mut next = 0;
                for f in Field::ALL {
                    assert_eq!(f.offset(), next, concat!($structure, " field {:?} leaves a gap or overlaps"), f);
                    assert!(f.len() > 0);
                    assert_eq!(Field::from_name(f.name()), Some(*f));
                    next = f.offset() + f.len();
                }
                assert_eq!(next, $size as u64, concat!($structure, " fields do not cover the structure"));
            }
        }
    };
}

pub(crate) use field_table;
