-- What an official promised face to face, and by when: promises made at a
-- desk are followed up like any deadline (the promise is optional; a due date
-- only comes with a promise).
ALTER TABLE desk_meetings ADD COLUMN promise TEXT;
ALTER TABLE desk_meetings ADD COLUMN promise_due DATE;
ALTER TABLE desk_meetings ADD CONSTRAINT desk_meetings_promise_due
    CHECK (promise_due IS NULL OR promise IS NOT NULL);
