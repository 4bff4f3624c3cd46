SELECT time, lost_events, window_start, window_end, detail FROM loss ORDER BY seq;
SELECT sum(lost_events) AS lost FROM loss;
