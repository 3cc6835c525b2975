"""`like` and `ulike`: LIKE with a pattern the caller has already escaped, for text fields.

Django's contains / icontains / startswith / endswith escape their value and put the wildcards around it
when they compile, so the parameter PostgreSQL receives is not the value the query was built with. A query
compiled once per process (community.lib.compiled) finds its keys among the parameters by their value, so
a search compiled that way says the whole pattern itself: `name__like=like_pattern(text, "%", "%")` is
`name__contains=text`, `name__ulike=…` is `name__icontains=text`, with the same results on both databases
(SQLite's LIKE, which Django's icontains uses there too, ignores the case of ASCII letters only)."""

from django.db.models import CharField, Lookup

_ESCAPES = str.maketrans({"\\": "\\\\", "%": "\\%", "_": "\\_"})


def like_pattern(text: str, before: str = "", after: str = "") -> str:
    """`text` as a LIKE pattern matching it literally (\\, % and _ escaped with a backslash), with the
    wildcards `before` and `after` it: ("a_b", "%", "%") → "%a\\_b%" (contains)."""
    return f"{before}{text.translate(_ESCAPES)}{after}"


@CharField.register_lookup
class Like(Lookup):
    """`field LIKE pattern`, the backslash escaping (as Django's pattern lookups escape)."""

    lookup_name = "like"
    upper = False  # UPPER() on both sides (where the database's LIKE minds letter case)

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if self.upper and connection.vendor != "sqlite":
            lhs, rhs = f"UPPER({lhs})", f"UPPER({rhs})"
        return f"{lhs} LIKE {rhs} ESCAPE '\\'", (*lhs_params, *rhs_params)


@CharField.register_lookup
class UpperLike(Like):
    """`like` without letter case: `UPPER(field) LIKE UPPER(pattern)` on PostgreSQL as Django's icontains
    there; plain LIKE on SQLite, as Django's icontains there."""

    lookup_name = "ulike"
    upper = True
