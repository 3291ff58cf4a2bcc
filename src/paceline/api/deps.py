"""The request dependencies the routers use: `paceline.callers`, shared with the web pages."""

from paceline.callers import CSRF_HEADER as CSRF_HEADER
from paceline.callers import SAFE_METHODS as SAFE_METHODS
from paceline.callers import SESSION_COOKIE as SESSION_COOKIE
from paceline.callers import ApiCaller as ApiCaller
from paceline.callers import AppState as AppState
from paceline.callers import Caller as Caller
from paceline.callers import State as State
from paceline.callers import api_caller as api_caller
from paceline.callers import app_state as app_state
from paceline.callers import forbidden as forbidden
from paceline.callers import not_found as not_found
from paceline.callers import optional_caller as optional_caller
