from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from helpdesk.tenancy.middleware import SESSION_TENANT_KEY

from . import services
from .decorators import staff_required, tenant_user_required
from .forms import ApiTokenForm, CustomerSignupForm, EmailForm, LoginForm, ProfileForm
from .login_links import user_for_login_link
from .selectors import api_token_list_for, membership_for_user


class TenantOnlyMixin:
    def dispatch(self, request, *args, **kwargs):
        if request.tenant is None:
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        # Django's auth views name the site after the host; we name it after the tenant.
        return {**super().get_context_data(**kwargs), "site_name": self.request.tenant.name}


class LoginView(TenantOnlyMixin, auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        # Bind the session to this tenant; TenantAccessMiddleware drops it anywhere else.
        self.request.session[SESSION_TENANT_KEY] = self.request.tenant.pk
        return response

    def get_default_redirect_url(self) -> str:
        if membership_for_user(self.request.user) is not None:
            return reverse("agent:home")
        return reverse("portal:home")


class LogoutView(TenantOnlyMixin, auth_views.LogoutView):
    template_name = "accounts/logged_out.html"


@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    if request.tenant is None:
        raise Http404
    form = EmailForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.password_reset_request(email=form.cleaned_data["email"])
        return redirect("accounts:password_reset_done")
    return render(request, "accounts/password_reset_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
def customer_signup(request: HttpRequest) -> HttpResponse:
    if request.tenant is None:
        raise Http404
    form = CustomerSignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.customer_signup(email=form.cleaned_data["email"], name=form.cleaned_data["name"])
        return redirect("accounts:password_reset_done")
    return render(request, "accounts/signup.html", {"form": form})


@require_http_methods(["GET", "POST"])
def login_link_request(request: HttpRequest) -> HttpResponse:
    if request.tenant is None:
        raise Http404
    form = EmailForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.login_link_request(email=form.cleaned_data["email"])
        return render(
            request, "accounts/login_link_sent.html", {"email": form.cleaned_data["email"]}
        )
    return render(request, "accounts/login_link_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
def login_link(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (mail scanners follow links; only a person presses it); POST signs in."""
    if request.tenant is None:
        raise Http404
    user = user_for_login_link(token)
    if user is None:
        return render(request, "accounts/login_link_invalid.html", status=400)
    if request.method == "POST":
        auth_login(request, user, backend="helpdesk.accounts.backends.TenantMemberBackend")
        request.session[SESSION_TENANT_KEY] = request.tenant.pk
        target = "agent:home" if membership_for_user(user) else "portal:home"
        return redirect(target)
    return render(request, "accounts/login_link_confirm.html", {"login_user": user})


class PasswordResetDoneView(TenantOnlyMixin, auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(TenantOnlyMixin, auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(TenantOnlyMixin, auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


@tenant_user_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = ProfileForm(
        request.POST or None, initial={"full_name": user.full_name, "language": user.language}
    )
    if request.method == "POST" and form.is_valid():
        services.user_update_profile(user=user, **form.cleaned_data)
        messages.success(request, _("Your profile was saved."))
        response = redirect("accounts:profile")
        # The saved preference wins over an earlier switcher choice.
        response.delete_cookie("django_language")
        return response
    layout = "layouts/agent.html" if request.membership else "layouts/portal.html"
    return render(
        request, "accounts/profile.html", {"form": form, "layout": layout, "nav_active": "profile"}
    )


@staff_required()
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST or None)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        _token, new_secret = services.api_token_create(
            user=request.user, name=form.cleaned_data["name"]
        )
        form = ApiTokenForm()
    context = {
        "form": form,
        "tokens": api_token_list_for(request.user)[:100],
        "new_secret": new_secret,
        "nav_active": "tokens",
    }
    return render(request, "accounts/tokens.html", context)


@staff_required()
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(api_token_list_for(request.user), pk=token_id)
    services.api_token_revoke(token=token, actor=request.user)
    messages.success(request, _("The token “%(name)s” was revoked.") % {"name": token.name})
    return redirect("accounts:tokens")
