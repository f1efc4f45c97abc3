from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("signup/", views.customer_signup, name="signup"),
    path("login/link/", views.login_link_request, name="login_link_request"),
    path("login/link/<str:token>/", views.login_link, name="login_link"),
    path("password-reset/", views.password_reset, name="password_reset"),
    path("password-reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("reset/done/", views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("profile/", views.profile, name="profile"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
]

from . import views_members  # noqa: E402

settings_patterns = [
    path("users/", views_members.users, name="users"),
    path("users/<int:membership_id>/role/", views_members.user_role, name="user_role"),
    path(
        "users/<int:membership_id>/deactivate/",
        views_members.user_deactivate,
        name="user_deactivate",
    ),
    path(
        "users/<int:membership_id>/reactivate/",
        views_members.user_reactivate,
        name="user_reactivate",
    ),
]
