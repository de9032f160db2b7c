"""The GPU inference worker (`python manage.py gpu_worker`): Z-Image-Turbo from
a local directory, served over HTTP with dynamic batching. Imports no Django
models, so it runs on a GPU machine without the site's database; torch and
diffusers come from the `gpu` extra. See docs/gpu_worker.md."""
