-- A patient's NHSCommunication extension as registered (scheduling.Communication
-- as JSON; '' for none): language with display, preferred, modes,
-- proficiency, and interpreterRequired only when sent. language and
-- interpreter kept only the language code and a boolean that read as false
-- when not sent. They are still written (the language code, interpreter
-- true only when sent as true) for a binary that predates this column; a row
-- with communication '' and a language is one such a binary wrote, and is
-- read as it read it.
ALTER TABLE patients ADD COLUMN communication TEXT NOT NULL DEFAULT '';
