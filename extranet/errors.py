"""Error pages in the site's style, for every HTTP error and for crashes."""

import logging

from flask import render_template
from flask.globals import request_ctx
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from extranet.extensions import db

log = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("Invalid request"), _l("The request could not be understood. Go back, check what you entered and try again.")),
    401: (_l("Login required"), _l("Please log in to see this page.")),
    403: (_l("Access denied"), _l("Your account does not give access to this page. If you think it should, contact your territory coordinator or the national team.")),
    404: (_l("Page not found"), _l("The page you are looking for does not exist or has been moved. Check the address, or go back to the home page.")),
    405: (_l("Method not allowed"), _l("This address cannot be used this way.")),
    413: (_l("File too large"), _l("What you sent is larger than the platform accepts.")),
    429: (_l("Too many requests"), _l("Please wait a moment before trying again.")),
    500: (_l("Unexpected error"), _l("Sorry, something went wrong on our side. The technical team has been told. Please try again in a few minutes.")),
}


def render_error(code: int, title=None, message=None):
    default_title, default_message = MESSAGES.get(code, MESSAGES[500] if code >= 500 else MESSAGES[400])
    return render_template("errors/error.html", code=code, title=title or default_title, message=message or default_message), code


def register_error_handlers(app):
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(
            400,
            _l("Form expired"),
            _l("The form had expired or did not come from this site. Go back, reload the page and submit it again."),
        )

    @app.errorhandler(HTTPException)
    def http_error(error):
        if error.code is None or error.code < 400:
            return error
        if request_ctx.url_adapter is None:
            # A request for a host we do not serve: no page of ours can be built for it.
            return error
        body, code = render_error(error.code)
        # Keep what the error itself says, such as the Allow header of a 405.
        headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
        return body, code, headers

    @app.errorhandler(Exception)
    def unexpected_error(error):
        if isinstance(error, HTTPException):
            return http_error(error)
        log.exception("Unhandled error", exc_info=error)
        db.session.rollback()
        if app.config.get("TESTING") and app.config.get("PROPAGATE_TEST_ERRORS", True):
            raise error
        return render_error(InternalServerError.code)
