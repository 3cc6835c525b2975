"""Import of households and residents from a sheet (.xlsx or .csv).

Three steps, one function each, all taking an ``actor`` like every other service:

- ``import_batch_create`` reads the upload into plain rows kept on an ``ImportBatch``;
- ``import_batch_check`` validates the next rows (a step at a time, so the browser can show progress on
  a big sheet), lists errors by sheet row number and counts what an import would do;
- ``import_batch_apply`` checks everything again and writes through ``residents.services`` in one
  transaction: the rules are exactly those of the forms, and either the whole sheet lands or nothing.

A person is recognised on a re-import by the ID card number, else by household and name, and an empty
cell keeps what is stored; so importing the same sheet twice changes nothing the second time.
"""

from residents.imports.apply import import_batch_apply, import_errors, import_preview
from residents.imports.rows import import_batch_check
from residents.imports.sheets import CHECK_STEP, COLUMNS, MAX_ROWS, STATUS_BADGES, import_batch_create

__all__ = [
    "CHECK_STEP",
    "COLUMNS",
    "MAX_ROWS",
    "STATUS_BADGES",
    "import_batch_apply",
    "import_batch_check",
    "import_batch_create",
    "import_errors",
    "import_preview",
]
