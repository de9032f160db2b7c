"""The Generate page: form, live quote, submit, and the live card."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh, reswap, retarget, trigger_client_event

from generations.billing import pricing, spendable, teams
from generations.dashboard import setup
from generations.dashboard.forms import GenerateForm
from generations.dashboard.views.batches import own_batch
from generations.dashboard.views.common import form_attempt, own, readable
from generations.lifecycle import batches, services, status
from generations.lifecycle.batches import batch_images
from generations.models import Generation, Prompt
from generations.providers import InvalidRequest
from generations.providers.registry import available_providers, default_provider_name, get_provider

RECENT = 12


def provider_context(name: str, size: str = "1024x1024") -> dict:
    """What the form shows for one provider: limits, sizes, prompt_extend.
    `size` stays chosen when this provider offers it; else its first preset is."""
    usable = {p.name: p for p in available_providers()}
    provider = usable.get(name) or usable.get(default_provider_name()) or get_provider("demo")
    caps = provider.capabilities
    presets = [
        {
            "value": f"{w}x{h}",
            "w": w,
            "h": h,
            "box_w": round(28 * w / max(w, h)),
            "box_h": round(28 * h / max(w, h)),
        }
        for w, h in caps.presets or ((1024, 1024),)
    ]
    values = [p["value"] for p in presets]
    chosen = size if size in values or size == "custom" else values[0]
    return {
        "provider": provider,
        "caps": caps,
        "presets": presets,
        "chosen_size": chosen,
        "extend_price": pricing.PROMPT_EXTEND_SURCHARGE,
    }


@login_required
def home(request):
    if request.method == "POST":
        return create(request)
    form = GenerateForm(user=request.user, initial=_initial(request))
    return _page(request, form)


def _initial(request) -> dict:
    """What the form starts with: the defaults, or every setting of an image
    to remix (`?remix=<id>&seed=same|new`) or of a saved prompt (`?prompt=<id>`),
    to edit before anything is spent."""
    initial = {"size": "1024x1024", "seed_mode": "random"}
    if source := _remix_source(request):
        initial.update(_settings_of(source, keep_seed=request.GET.get("seed") != "new"))
        if source.owner_id == request.user.pk and source.saved_prompt_id:
            initial["saved_prompt"] = source.saved_prompt_id
    wanted = request.GET.get("prompt", "")
    saved = Prompt.objects.owned_by(request.user).filter(pk=wanted).first() if wanted.isdigit() else None
    if saved:
        initial.update(_settings_of(saved, keep_seed=True), saved_prompt=saved.pk)
        initial["prompt"] = saved.text
    return _fit_size(initial)


def _remix_source(request) -> Generation | None:
    """The image named by `?remix=`, if the user may read it (their own, or a
    teammate's shared one); a mangled or foreign id fills nothing."""
    try:
        pk = uuid.UUID(request.GET.get("remix", ""))
    except ValueError:
        return None
    return Generation.objects.readable_by(request.user).filter(pk=pk).first()


def _settings_of(source: Generation | Prompt, *, keep_seed: bool) -> dict:
    """A generation's or saved prompt's settings as form values; a saved prompt
    typed on the prompts page has none beyond its text."""
    values = {"prompt": getattr(source, "prompt", "") or getattr(source, "text", "")}
    if source.provider and not getattr(source, "route", ""):  # a routed image stays Automatic
        values["provider"] = source.provider
    if source.width and source.height:
        values.update(size=f"{source.width}x{source.height}", width=source.width, height=source.height)
    if source.prompt_extend is not None:
        values["prompt_extend"] = source.prompt_extend
    seed = getattr(source, "seed_used", None)
    seed = source.seed if seed is None else seed
    if keep_seed and seed is not None:
        values.update(seed_mode="fixed", seed=seed)
    return values


def _fit_size(initial: dict) -> dict:
    """A remixed size the provider has no preset for is shown as a custom size."""
    options = provider_context(initial.get("provider", ""), initial["size"])
    if "width" in initial and options["chosen_size"] != initial["size"]:
        initial["size"] = "custom"
    return initial


def _page(request, form, status=200):
    recent = Generation.objects.owned_by(request.user).live()[:RECENT]
    name = form["provider"].value() or default_provider_name()
    return render(
        request,
        "generations/home.html",
        {
            "form": form,
            "generations": recent,
            "setup_needed": request.user.is_staff and setup.only_demo(),
            **provider_context(name, form["size"].value() or ""),
        },
        status=status,
    )


def create(request):
    """One image, or several takes of one prompt as a batch shown as one group
    that fills in live; the form's errors in place when refused."""
    form = GenerateForm(request.POST, user=request.user)
    if not form.is_valid():
        made = None
    elif form.cleaned_data["count"] > 1:
        made = form_attempt(form, lambda: _create_batch(request.user, form.cleaned_data))
    else:
        made = form_attempt(form, lambda: _create(request.user, form.cleaned_data))
    if request.htmx:
        if made is None:
            response = render(request, "generations/_form_errors.html", {"form": form})
            return reswap(retarget(response, "#form-errors"), "innerHTML")
        if isinstance(made, Generation):
            response = render(request, "generations/_card_live.html", {"g": made, "clear_errors": True})
        else:
            batch = own_batch(request, made.pk)  # with its progress
            context = {"batch": batch, "progress": batches.batch_progress(batch), "clear_errors": True}
            response = render(
                request, "generations/_batch_live.html", {**context, "images": batch_images(batch)}
            )
        return trigger_client_event(response, "generationCreated")  # the quote refreshes
    if isinstance(made, Generation):
        messages.success(request, _("Queued."))
        return redirect("home")
    if made is not None:
        return redirect("batch_detail", pk=made.pk)
    return _page(request, form, status=400)


def _create_batch(user, data: dict):
    return batches.batch_create(
        user=user,
        items=batches.items_repeat(
            prompt=data["prompt"],
            width=data["width"],
            height=data["height"],
            n=data["count"],
            seed=data["seed"],
            prompt_extend=data["prompt_extend"],
        ),
        provider=data["provider"],
    )


def _create(user, data: dict) -> Generation:
    return services.generation_create(
        user=user,
        prompt=data["prompt"],
        width=data["width"],
        height=data["height"],
        seed=data["seed"],
        prompt_extend=data["prompt_extend"],
        provider=data["provider"],
        saved_prompt=data["saved_prompt"],
    )


@login_required
@require_POST
def quote(request):
    """The price of what the form holds now, who would pay it, and the balance
    after it; or, before anything is submitted, whatever would refuse it (a
    frozen account, a limit, a wait, too few credits: `spendable.price_check`)."""
    form = GenerateForm(request.POST, user=request.user)
    context = {}
    form.is_valid()
    data = form.cleaned_data
    if {"provider", "width", "height"} <= data.keys() and not form.has_error("seed"):
        try:
            name, cost = services.generation_quote(
                provider=data["provider"],
                prompt=data.get("prompt") or "·",
                width=data["width"],
                height=data["height"],
                seed=data.get("seed"),
                prompt_extend=data.get("prompt_extend", False),
            )
            count = data.get("count") or 1
            context["count"] = count
            context["check"] = spendable.price_check(
                user=request.user, provider=name, cost=cost * count, images=count
            )
            context["team_admins"] = _names(teams.team_admins_of(request.user))
        except InvalidRequest as exc:
            context["problem"] = exc.message
    else:
        context["problem"] = " ".join(str(e) for errors in form.errors.values() for e in errors)
    return render(request, "generations/_quote.html", context)


def _names(users) -> str:
    return ", ".join(u.get_username() for u in users)


@login_required
def provider_options(request):
    response = render(
        request,
        "generations/_provider_options.html",
        {
            "form": GenerateForm(user=request.user),
            **provider_context(request.GET.get("provider", ""), request.GET.get("size", "")),
        },
    )
    return trigger_client_event(response, "optionsLoaded")  # the quote refreshes


@login_required
def card(request, pk):
    """The card partial that in-flight cards poll every second. On a detail
    page (`?reload=1`) a finished one reloads the page to show every field."""
    g = readable(request, pk)
    if g.is_finished and request.GET.get("reload"):
        return HttpResponseClientRefresh()
    return render(request, "generations/_card_live.html", {"g": g})


@login_required
def status_json(request, pk):
    g = own(request, pk)
    return JsonResponse(
        {
            "id": str(g.pk),
            "status": g.status,
            "finished": g.is_finished,
            "error_code": g.error_code,
            "error_message": g.error_message,
        }
    )


@login_required
@require_POST
def cancel(request, pk):
    g = own(request, pk)
    canceled = status.generation_cancel(generation=g)
    if request.htmx:  # the card's own button: answer with the card as it is now
        g.refresh_from_db()
        return render(request, "generations/_card_live.html", {"g": g})
    if canceled == "canceled":
        messages.info(request, _("Canceled; the credits were returned."))
    elif canceled == "cancel_requested":
        messages.info(
            request,
            _("Cancel requested: if no image has been made yet, it is discarded and the credits returned."),
        )
    else:
        messages.warning(request, _("Too late to cancel: the image is already made."))
    return redirect("home")
