"""Flask extensions, created unbound and initialised in create_app."""
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from app.core.security_log import rate_limit_breached

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Storage: Redis when REDIS_URL is set, else in-process memory (create_app sets RATELIMIT_STORAGE_URI).
# No default limits: each route that needs one says so (the consult page does). Every refusal is a security event.
limiter = Limiter(key_func=get_remote_address, on_breach=rate_limit_breached)
# The mediation room. create_app picks the message queue: Redis when REDIS_URL is set (so every gunicorn worker
# shares the rooms), else in-process. Threading mode: websockets through simple-websocket (gunicorn gthread, Werkzeug).
socketio = SocketIO()
