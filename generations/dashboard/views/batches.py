"""Batches in the dashboard: a prompt list or a seed sweep with its price
before anything is held, each batch as a grid that fills in live, cancel the
rest, and download all."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from generations.billing import ledger
from generations.dashboard.forms import parse_size
from generations.dashboard.views.common import form_attempt
from generations.lifecycle import batches
from generations.models import Batch
from generations.providers import InvalidRequest
from generations.providers.registry import available_providers, default_provider_name

MAX_UPLOAD = 2 * 1024 * 1024  # a prompt list, not an image: 500 long prompts fit many times


class BatchForm(forms.Form):
    """A prompt list (pasted, or a text / CSV / JSONL file) or a seed sweep of one prompt."""

    KINDS = [("list", gettext_lazy("A list of prompts")), ("sweep", gettext_lazy("One prompt, many seeds"))]

    kind = forms.ChoiceField(
        label=gettext_lazy("Make"), choices=KINDS, initial="list", widget=forms.RadioSelect
    )
    name = forms.CharField(label=gettext_lazy("Name"), required=False, max_length=200)
    prompts = forms.CharField(
        label=gettext_lazy("Prompts, one a line"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=gettext_lazy(
            "Or CSV with a header row (prompt, size, seed, prompt_extend), or JSON Lines."
        ),
    )
    file = forms.FileField(label=gettext_lazy("…or upload a file"), required=False)
    prompt = forms.CharField(
        label=gettext_lazy("Prompt"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    seeds = forms.CharField(
        label=gettext_lazy("Seeds"),
        required=False,
        help_text=gettext_lazy("A list or ranges, e.g. 1, 5, 100-131"),
    )
    provider = forms.ChoiceField(label=gettext_lazy("Provider"))
    size = forms.CharField(label=gettext_lazy("Size"), initial="1024x1024")
    prompt_extend = forms.BooleanField(
        label=gettext_lazy("Rewrite my prompts (prompt_extend)"), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = [(p.name, p.label) for p in available_providers()]
        self.fields["provider"].initial = default_provider_name()

    def clean(self):
        data = super().clean()
        try:
            width, height = parse_size(data.get("size") or "")
        except forms.ValidationError as exc:
            self.add_error("size", exc)
            return data
        try:
            data["items"] = self._items(data, width, height)
        except InvalidRequest as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return data

    def _items(self, data, width: int, height: int) -> list[batches.BatchItem]:
        extend = data.get("prompt_extend", False)
        if data.get("kind") == "sweep":
            if not (data.get("prompt") or "").strip():
                raise InvalidRequest("prompt", _("Write the prompt to sweep."))
            seeds = batches.seeds_parse(data.get("seeds") or "")
            return [batches.BatchItem(data["prompt"].strip(), width, height, s, extend) for s in seeds]
        upload = data.get("file")
        if upload:
            if upload.size > MAX_UPLOAD:
                raise InvalidRequest("file", _("The file is larger than 2 MB; split the list."))
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise InvalidRequest("file", _("The file is not UTF-8 text.")) from None
            return batches.items_parse(
                text, width=width, height=height, prompt_extend=extend, filename=upload.name
            )
        return batches.items_parse(
            data.get("prompts") or "", width=width, height=height, prompt_extend=extend
        )


def own_batch(request, pk) -> Batch:
    """Another user's batch is a 404: its existence is not revealed."""
    return get_object_or_404(batches.with_progress(Batch.objects.owned_by(request.user)), pk=pk)


@login_required
def batch_list(request):
    """New batch form and the user's batches, newest first."""
    form = BatchForm(initial={"size": "1024x1024"})
    if request.method == "POST":
        form = BatchForm(request.POST, request.FILES)
        if form.is_valid() and (
            batch := form_attempt(form, lambda: _create(request.user, form.cleaned_data))
        ):
            messages.success(request, _("Batch queued: every image's credits are held."))
            return redirect("batch_detail", pk=batch.pk)
    page = Paginator(batches.with_progress(Batch.objects.owned_by(request.user)), 20).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "generations/batches.html",
        {"form": form, "page": page, "max_images": batches.batch_max()},
        status=400 if form.errors else 200,
    )


def _create(user, data: dict) -> Batch:
    return batches.batch_create(
        user=user, items=data["items"], provider=data["provider"], name=data.get("name", "")
    )


@login_required
@require_POST
def batch_quote(request):
    """The preview: how many images, what they cost, and the balance after."""
    form = BatchForm(request.POST, request.FILES)
    context = {"balance": ledger.balance(user=request.user)}
    if form.is_valid():
        try:
            quote = batches.batch_quote(
                items=form.cleaned_data["items"], provider=form.cleaned_data["provider"]
            )
            context.update(quote=quote, after=context["balance"].available - quote.credits)
        except InvalidRequest as exc:
            context["problem"] = exc.message
    else:
        context["problem"] = " ".join(str(e) for errors in form.errors.values() for e in errors)
    return render(request, "generations/_batch_quote.html", context)


@login_required
def batch_detail(request, pk):
    batch = own_batch(request, pk)
    return render(request, "generations/batch.html", {"batch": batch, **_group(batch)})


@login_required
def batch_group(request, pk):
    """The live group (progress and grid) an unfinished batch polls."""
    batch = own_batch(request, pk)
    return render(request, "generations/_batch.html", {"batch": batch, **_group(batch)})


def _group(batch: Batch) -> dict:
    return {"progress": batches.batch_progress(batch), "images": list(batches.batch_images(batch))}


@login_required
@require_POST
def batch_cancel(request, pk):
    batch = own_batch(request, pk)
    outcomes = batches.batch_cancel(batch=batch)
    if request.htmx:
        batch = own_batch(request, pk)
        return render(request, "generations/_batch.html", {"batch": batch, **_group(batch)})
    messages.info(
        request,
        _("%(n)d canceled and refunded; %(m)d still running are refunded if they end unmade.")
        % {"n": outcomes.get("canceled", 0), "m": outcomes.get("cancel_requested", 0)},
    )
    return redirect("batch_detail", pk=pk)


@login_required
def batch_download(request, pk):
    return batches.batch_archive(own_batch(request, pk))
