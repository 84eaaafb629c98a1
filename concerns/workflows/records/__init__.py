"""Records management and the data-protection rights of the people on the register.

- `retention`: the retention schedule set when a case closes, the information officer's review
  queue (with its clock and reminders) and the decisions on it;
- `anonymise`: erasing every personal detail of a closed case while the scrutiny figures and the
  audit chain stay as they were, and the erased-people list a restore consults;
- `backup`: a consistent copy of the whole register, and restoring one.

docs/records.md describes the design.
"""
