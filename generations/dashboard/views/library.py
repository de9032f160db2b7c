"""The prompt library and collections."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from generations.billing.teams import has_team
from generations.dashboard.forms import CollectionForm, PromptForm
from generations.dashboard.views.common import own, own_collection
from generations.dashboard.views.detail import share_action
from generations.lifecycle import library
from generations.models import Collection, Prompt


@login_required
def prompts(request):
    form = PromptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        library.prompt_save(user=request.user, **form.cleaned_data)
        messages.success(request, _("Prompt saved."))
        return redirect("prompts")
    rows = Prompt.objects.owned_by(request.user).prefetch_related("tags")
    if request.GET.get("q"):
        rows = rows.filter(text__icontains=request.GET["q"])
    return render(request, "generations/prompts.html", {"form": form, "prompts": rows[:200]})


@login_required
def prompt_edit(request, pk):
    prompt = get_object_or_404(Prompt.objects.owned_by(request.user), pk=pk)
    initial = {
        "title": prompt.title,
        "text": prompt.text,
        "tags": ", ".join(t.name for t in prompt.tags.all()),
    }
    form = PromptForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        library.prompt_save(user=request.user, prompt=prompt, **form.cleaned_data)
        messages.success(request, _("Prompt saved."))
        return redirect("prompts")
    return render(request, "generations/prompt_edit.html", {"form": form, "prompt": prompt})


@login_required
@require_POST
def prompt_delete(request, pk):
    get_object_or_404(Prompt.objects.owned_by(request.user), pk=pk).delete()
    return redirect("prompts")


@login_required
def collections(request):
    form = CollectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        Collection.objects.get_or_create(owner=request.user, name=form.cleaned_data["name"])
        return redirect("collections")
    return render(
        request,
        "generations/collections.html",
        {"form": form, "collections": Collection.objects.owned_by(request.user)},
    )


@login_required
def collection(request, pk):
    item = get_object_or_404(Collection.objects.readable_by(request.user), pk=pk)
    return render(
        request,
        "generations/collection.html",
        {
            "collection": item,
            "mine": item.owner_id == request.user.pk,
            "generations": item.generations.live(),
            "view_query": f"in=collection&c={item.pk}",
            "on_team": has_team(request.user),
        },
    )


@login_required
@require_POST
def collection_share(request, pk):
    share_action(request, own_collection(request, pk))
    return redirect("collection", pk=pk)


@login_required
@require_POST
def collection_remove(request, pk, generation_pk):
    own_collection(request, pk).generations.remove(own(request, generation_pk))
    return redirect("collection", pk=pk)


@login_required
@require_POST
def collection_delete(request, pk):
    own_collection(request, pk).delete()
    messages.info(request, _("Collection deleted; its images are still in your gallery."))
    return redirect("collections")
