import os

from django.core.asgi import get_asgi_application

from voxloop.core.security import refuse_insecure_start

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voxloop.settings")
application = get_asgi_application()
# A server started without SECRET_KEY stops here rather than serve with the public development key.
refuse_insecure_start()
