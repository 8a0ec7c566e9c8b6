"""Turn an OsmAnd / Traccar Client request (query, form or JSON) into normalised fixes, or one clear rejection.

Pure: no Django, no clock. The caller passes `now` and the options. Every malformed input ends in
`GpsRejected` with a reason a person can act on; no other exception escapes `parse_http`/`parse_mqtt`.

Units stored: speed in km/h, course in degrees 0–360 (None = unknown), altitude and accuracy in metres,
battery in percent 0–100 (None = unknown). What the clients send:

- query string / form body (OsmAnd, Traccar Client ≤ 8, most trackers): speed in knots (configurable);
- JSON (`Content-Type: application/json`, Traccar Client 9+ layout `{device_id, location: {timestamp, coords,
  battery, is_moving, …}}`): speed in metres per second, battery level 0–1.

The parts: `fix` (the fix, the options, the rejection, the hard limits), `scalars` (numbers, text, timestamps,
attributes), `query` (query string and form body), `json_layouts` (Traccar JSON, flat, OwnTracks, GeoJSON) and
`entry` (choosing the layout, MQTT, implausible speeds). A new layout is a reader in its own module that
builds fixes with `fix._fix`, plus its branch in `entry.parse_http`.
"""

from gridcare.gps.parsing.entry import POSITION_KEYS, is_json, parse_http, parse_mqtt, plausible, skipped_note
from gridcare.gps.parsing.fix import (
    ALTITUDE_RANGE_M,
    DEVICE_KEYS,
    IGNORED_KEYS,
    KMH_PER_UNIT,
    MAX_ACCURACY_M,
    MAX_ATTRIBUTE_CHARS,
    MAX_COURSE,
    MAX_DEVICE_ID,
    MAX_FIELDS,
    MAX_FIXES_PER_REQUEST,
    MAX_HDOP,
    MAX_NUMBER_CHARS,
    MAX_PLAUSIBLE_SPEED_KMH,
    MAX_SPEED_KMH,
    MAX_TIMESTAMP_CHARS,
    UNEXPECTED,
    Fix,
    Format,
    GpsRejected,
    ParsedRequest,
    ParseOptions,
    load_tz,
)
from gridcare.gps.parsing.json_layouts import parse_json
from gridcare.gps.parsing.query import parse_params
from gridcare.gps.parsing.scalars import (
    EARLIEST,
    EARLIEST_EPOCH,
    EPOCH_SECONDS_LIMIT,
    clean_text,
    decimal,
    parse_timestamp,
)

__all__ = [
    "ALTITUDE_RANGE_M",
    "DEVICE_KEYS",
    "EARLIEST",
    "EARLIEST_EPOCH",
    "EPOCH_SECONDS_LIMIT",
    "IGNORED_KEYS",
    "KMH_PER_UNIT",
    "MAX_ACCURACY_M",
    "MAX_ATTRIBUTE_CHARS",
    "MAX_COURSE",
    "MAX_DEVICE_ID",
    "MAX_FIELDS",
    "MAX_FIXES_PER_REQUEST",
    "MAX_HDOP",
    "MAX_NUMBER_CHARS",
    "MAX_PLAUSIBLE_SPEED_KMH",
    "MAX_SPEED_KMH",
    "MAX_TIMESTAMP_CHARS",
    "POSITION_KEYS",
    "UNEXPECTED",
    "Fix",
    "Format",
    "GpsRejected",
    "ParseOptions",
    "ParsedRequest",
    "clean_text",
    "decimal",
    "is_json",
    "load_tz",
    "parse_http",
    "parse_json",
    "parse_mqtt",
    "parse_params",
    "parse_timestamp",
    "plausible",
    "skipped_note",
]
