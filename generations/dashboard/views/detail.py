"""One generation: its page, its files, and what its owner can do with it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from generations.billing.teams import has_team
from generations.dashboard.forms import CollectForm, TagForm
from generations.dashboard.views.common import own, readable
from generations.images.serving import serve_image, serve_thumbnail
from generations.lifecycle import library


@login_required
def detail(request, pk):
    g = readable(request, pk)
    mine = g.owner_id == request.user.pk
    context = {"g": g, "mine": mine, "tags": g.tags.owned_by(g.owner)}
    if mine:
        context.update(
            collect_form=CollectForm(user=request.user),
            tag_form=TagForm(),
            collections=g.collections.owned_by(request.user),
            on_team=has_team(request.user),
        )
    return render(request, "generations/detail.html", context)


@login_required
def image(request, pk):
    return serve_image(readable(request, pk), attachment="download" in request.GET)


@login_required
def thumbnail(request, pk):
    return serve_thumbnail(readable(request, pk))


@login_required
def remix(request, pk):
    """Open the Generate form filled with this image's settings, to edit
    before anything is spent. A teammate's shared image is remixed as the
    viewer's own, paid by the viewer, once they press Generate."""
    g = readable(request, pk)
    seed = "new" if (request.POST or request.GET).get("seed") == "new" else "same"
    return redirect(reverse("home") + "?" + urlencode({"remix": g.pk, "seed": seed}))


@login_required
@require_POST
def save_prompt(request, pk):
    g = own(request, pk)
    library.prompt_save_from(user=request.user, generation=g)
    messages.success(request, _("Prompt saved to your library."))
    return redirect("generation_detail", pk=pk)


@login_required
@require_POST
def tag(request, pk):
    g = own(request, pk)
    form = TagForm(request.POST)
    if form.is_valid():
        library.generation_tag(generation=g, user=request.user, text=form.cleaned_data["tags"])
    return redirect("generation_detail", pk=pk)


@login_required
@require_POST
def untag(request, pk, tag_id):
    g = own(request, pk)
    g.tags.remove(*g.tags.owned_by(request.user).filter(pk=tag_id))
    return redirect("generation_detail", pk=pk)


@login_required
@require_POST
def collect(request, pk):
    g = own(request, pk)
    form = CollectForm(request.POST, user=request.user)
    if form.is_valid():
        collection = library.collection_add(
            user=request.user,
            generation=g,
            collection=form.cleaned_data["collection"],
            new_name=form.cleaned_data["new_name"],
        )
        messages.success(request, _("Added to %(name)s.") % {"name": collection.name})
    else:
        messages.error(request, " ".join(form.non_field_errors()))
    return redirect("generation_detail", pk=pk)


@login_required
@require_POST
def share(request, pk):
    share_action(request, own(request, pk))
    return redirect("generation_detail", pk=pk)


def share_action(request, item) -> None:
    """team_on / team_off / link / revoke, for a generation or a collection.
    Stopping a share always works; starting one needs a team (for team_on)
    and, for a generation, an image (a failed or canceled one has none)."""
    action = request.POST.get("action")
    if action in ("team_on", "link") and getattr(item, "status", "succeeded") != "succeeded":
        messages.error(request, _("Only a finished image can be shared."))
    elif action == "team_on" and not has_team(request.user):
        messages.error(request, _("You are not on a team yet; an admin can add you to one."))
    elif action in ("team_on", "team_off"):
        library.share_with_team(item=item, shared=action == "team_on")
    elif action == "link":
        library.share_link_create(item=item)
        messages.success(request, _("Public link created: anyone with it can view."))
    elif action == "revoke":
        library.share_link_revoke(item=item)
        messages.info(request, _("Public link revoked."))


@login_required
@require_POST
def delete(request, pk):
    library.generation_trash(generation=own(request, pk))
    return redirect(reverse("gallery") + f"?undo={pk}")


@login_required
@require_POST
def restore(request, pk):
    g = own(request, pk)
    if library.generation_restore(generation=g):
        messages.success(request, _("Restored."))
    else:
        messages.error(request, _("Too late: its files were already deleted for good."))
    return redirect("generation_detail", pk=g.pk)
