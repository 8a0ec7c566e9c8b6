from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic.base import RedirectView

from gridcare.api import api
from gridcare.core import error_views
from gridcare.core import views as core_views
from gridcare.org import views as org_views
from gridcare.org.auth import ThrottledAdminAuthenticationForm

admin.site.site_header = "GridCare 系统管理"
admin.site.site_title = "GridCare"
admin.site.index_title = "数据管理"
# The admin's own login goes through the same throttle and says how long a lock lasts.
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("favicon.ico", RedirectView.as_view(url=static("gridcare/favicon.svg"), permanent=True)),
    path("healthz", core_views.healthz, name="healthz"),
    path("metrics", core_views.metrics, name="metrics"),
    path("", core_views.home, name="home"),
    path("login/", org_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("customers/", include("gridcare.customers.urls")),
    path("grid/", include("gridcare.grid.urls")),
    path("workorders/", include("gridcare.workorders.urls")),
    path("notices/", include("gridcare.notices.urls")),
    path("tags/", include("gridcare.tags.urls")),
    path("dsm/", include("gridcare.dsm.urls")),
    path("gps/", include("gridcare.gps.urls")),
    path("repair/", include("gridcare.repair.urls")),
    path("crew/", include("gridcare.repair.crew_urls")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]

# DEBUG off: a plain Chinese page (JSON under /api/), never a traceback; see gridcare/core/error_views.py.
handler400 = error_views.bad_request
handler403 = error_views.permission_denied
handler404 = error_views.page_not_found
handler500 = error_views.server_error
