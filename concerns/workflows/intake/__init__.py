"""Intake: how a concern reaches the register. Every submission is stored raw first
(`submissions`), read by its channel's parser (`parsing`), from email files and the mailbox
(`mailbox`), the legacy register (`register_import`) or the public form; what cannot be read
waits in the quarantine (`quarantine`); files that came with it are kept (`attachments`)."""
