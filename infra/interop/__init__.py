"""Interop: history from the formats public bodies already publish, and the ledger back out.

One module per job:
- `imports`: the one entry point the CLI calls (side files loaded, importer chosen);
- `report`: what an import did (matched, created, skipped, noticed) and the error refusing one;
- `encoding`: UTF-8, else Windows-1252, else latin-1, as a stream (publishers mix them);
- `options`: the user's side files (CPV categories, exchange rates, mappings);
- `amounts`: dates, money and the whole-life to annual value arithmetic;
- `parties`: suppliers, recipients and buyers matched to the ledger's providers and commissioners;
- `party_events`: the organisations' own stored events, read by topic (what `parties` indexes);
- `staging`: mapped events checked and stored in one unit of work, all or nothing;
- `ocds_read`, `ocds_spool`, `ocds_fields`, `ocds_map`, `ocds_import`: OCDS in (streamed,
  grouped by process, read, mapped, stored);
- `ocds_schema`, `ocds_export`: OCDS out, validated against the vendored 1.1 schema (`schema/`);
- `giving360`: 360Giving grants in;
- `registers`, `register_history`: council contract register snapshots in (`mappings/`);
- `view_export`: every view out at once, one workbook (a sheet per view) or a file per view.
"""
