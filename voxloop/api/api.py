"""The REST API (django-ninja). OpenAPI docs at /api/docs. Routers live in voxloop/api/<domain>.py."""

from ninja import NinjaAPI

api = NinjaAPI(title="VoxLoop API", version="1", urls_namespace="api")
