"""The MiniWorld side of MetaSign3D: headless OpenGL set-up, one shared GL context, the world.

Imported only when a MetaSign3D env starts its first episode, so that
``import meta_explore_envs`` (and constructing the env, e.g. the dummy env of
``AsyncVectorEnv``) never loads pyglet, MiniWorld or OpenGL.

* **Headless.** Before pyglet is imported, :func:`configure_pyglet` selects pyglet's EGL
  headless mode when no X display is present (Linux without ``DISPLAY``), unless
  ``PYGLET_HEADLESS`` is set explicitly, and turns off pyglet's per-call ``glGetError``
  check (``debug_gl``, on by default without ``python -O``), and runs Mesa's llvmpipe in
  the calling thread (``LP_NUM_THREADS=0``: for 80x60 frames its thread pool costs more CPU
  than it saves). Each can be overridden by setting the variable first.
* **One GL context per process.** MiniWorld's ``MiniWorldEnv.__init__`` opens a hidden
  window and allocates an 800x600 16-sample frame buffer per env and never frees them
  (~36 MiB per env). :class:`SharedGL` instead holds one hidden 1x1 window, one frame buffer
  per size and one display list per problem for the whole process; every world renders
  through it, so creating and closing envs allocates no GL memory, and ``reset`` only
  moves the agent.
* **Fork safety.** A GL context does not survive ``fork``; using it in a forked child
  raises a clear error (vector envs: ``vector_kwargs={"context": "spawn"}`` or
  ``"forkserver"``). Because the context is created on the first episode, not in
  ``__init__``, the default ``fork`` start method also works as long as the parent only
  constructs the env.
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np

from meta_explore_envs.envs import sign3d_layout as layout
from meta_explore_envs.envs.sign3d_textures import texture_path
from meta_explore_envs.optional import DependencyNotInstalled, require

#: Debian/Ubuntu packages that provide headless OpenGL for pyglet 1.5 (EGL + Mesa).
APT_PACKAGES = ("libgl1", "libglu1-mesa", "libegl1", "libfreetype6")

#: Multisampling of the observation frame buffer (MiniWorld's default is 8; Mesa's llvmpipe
#: gives at most 4): keeps the sign's letters and the objects' edges smooth at 80x60.
OBS_SAMPLES = 4
#: First-person view in ``render_frame`` (for people; the agent sees 80x60).
VIEW_WIDTH, VIEW_HEIGHT = 400, 300


class OpenGLUnavailableError(RuntimeError):
    """OpenGL (EGL/GLX, Mesa, GLU) could not be loaded or no context could be created."""


def gl_help(cause: BaseException | str) -> str:
    packages = " ".join(APT_PACKAGES)
    return (
        f"MetaSign3D-v0 renders with OpenGL through pyglet 1.5 and could not set it up: {cause}\n"
        f"On Debian/Ubuntu install the system libraries with\n"
        f"    sudo apt-get install -y --no-install-recommends {packages}\n"
        "(`make setup` does this when run as root). On other systems install OpenGL, GLU and EGL "
        "(Mesa) and FreeType (Fedora: mesa-libGL mesa-libGLU mesa-libEGL freetype; macOS: nothing "
        "extra, a display is used); see docs/sign3d.md (README links it). Without a display, "
        "pyglet needs EGL (PYGLET_HEADLESS=1 is set automatically when DISPLAY is unset)."
    )


def configure_pyglet() -> None:
    """Choose pyglet's options before ``pyglet.gl`` is imported (no effect afterwards)."""
    headless = sys.platform.startswith("linux") and not os.environ.get("DISPLAY")
    if headless:
        os.environ.setdefault("PYGLET_HEADLESS", "1")
    os.environ.setdefault("PYGLET_DEBUG_GL", "0")
    # Mesa's llvmpipe renders 80x60 frames faster in the calling thread than with its thread
    # pool (whose hand-offs cost more CPU than they save); must be set before the context.
    os.environ.setdefault("LP_NUM_THREADS", "0")
    if "pyglet" in sys.modules and "pyglet.gl" not in sys.modules:
        # pyglet read its options from the environment when it was imported: apply them now.
        import pyglet

        if "PYGLET_HEADLESS" in os.environ:
            pyglet.options["headless"] = os.environ["PYGLET_HEADLESS"] in ("true", "TRUE", "True", "1")
        pyglet.options["debug_gl"] = os.environ["PYGLET_DEBUG_GL"] in ("true", "TRUE", "True", "1")


configure_pyglet()

try:
    # A missing Python package is an install choice (the [3d] extra), not a broken OpenGL set-up.
    require("pyglet", "3d")
    require("miniworld", "3d")
    import pyglet
    from miniworld.entity import Agent, Box, ImageFrame
    from miniworld.envs.sign import BigKey
    from miniworld.miniworld import MiniWorldEnv
    from miniworld.opengl import FrameBuffer, Texture
    from miniworld.params import DEFAULT_PARAMS
    from pyglet import gl
except DependencyNotInstalled:
    raise
except (ImportError, OSError) as _exc:  # missing libGL/libEGL/libGLU, or no display
    raise OpenGLUnavailableError(gl_help(_exc)) from _exc
except Exception as _exc:  # pyglet raises its own exception types for display errors
    raise OpenGLUnavailableError(gl_help(f"{type(_exc).__name__}: {_exc}")) from _exc


class SharedGL:
    """The process's GL context (a hidden 1x1 pyglet window) and the resources built in it."""

    def __init__(self):
        self.pid = os.getpid()
        try:
            self.window = pyglet.window.Window(width=1, height=1, visible=False)
        except Exception as exc:  # EGL without a device, X without a display, ...
            raise OpenGLUnavailableError(gl_help(f"{type(exc).__name__}: {exc}")) from exc
        self.window.switch_to()
        gl.glEnable(gl.GL_DEPTH_TEST)
        gl.glEnable(gl.GL_CULL_FACE)
        self._framebuffers: dict[tuple[int, int, int], FrameBuffer] = {}
        #: problem ID -> display list drawing the whole static scene of that problem.
        self.display_lists: dict[int, int] = {}
        self.renderer = gl.gl_info.get_renderer()

    def framebuffer(self, width: int, height: int, samples: int) -> FrameBuffer:
        key = (width, height, samples)
        fb = self._framebuffers.get(key)
        if fb is None:
            self.window.switch_to()
            # MiniWorld's FrameBuffer prints when the driver has fewer samples; say it once.
            fb = FrameBuffer(width, height, samples)
            self._framebuffers[key] = fb
        return fb


_shared: SharedGL | None = None


def shared_gl() -> SharedGL:
    """The process-wide :class:`SharedGL`, created on first use."""
    global _shared
    if _shared is None:
        _shared = SharedGL()
    elif _shared.pid != os.getpid():
        raise RuntimeError(
            f"MetaSign3D's OpenGL context was created in process {_shared.pid}, which then forked "
            f"this process ({os.getpid()}); a GL context cannot be used after fork. Create the env "
            "in the child, or use the spawn/forkserver start method, e.g. gymnasium.make_vec("
            "'MetaSign3D-v0', num_envs=2, vectorization_mode='async', vector_kwargs={'context': 'spawn'})"
        )
    return _shared


def _params():
    params = DEFAULT_PARAMS.no_random()
    params.set("forward_step", layout.FORWARD_STEP)
    params.set("turn_step", layout.TURN_DEGREES)
    return params


class SignAgent(Agent):
    """MiniWorld's agent with its camera pose in closed form.

    ``Agent.cam_pos``/``cam_dir`` build two rotation matrices per call (a quarter of a
    frame's Python time); these are the same rotations written out: the camera sits
    ``cam_fwd_disp`` ahead of and ``cam_height`` above the agent, looking along its heading
    tilted up by ``cam_pitch`` degrees.
    """

    @property
    def cam_pos(self):
        c, s = math.cos(self.dir), math.sin(self.dir)
        x, _, z = self.pos
        return np.array((x + self.cam_fwd_disp * c, self.cam_height, z - self.cam_fwd_disp * s))

    @property
    def cam_dir(self):
        c, s = math.cos(self.dir), math.sin(self.dir)
        pitch = math.radians(self.cam_pitch)
        return np.array((math.cos(pitch) * c, math.sin(pitch), -math.cos(pitch) * s))


class SignFrame(ImageFrame):
    """MiniWorld's wall picture frame, showing one of our sign textures (loaded by path)."""

    def __init__(self, problem_id: int):
        self.problem_id = problem_id
        path = str(texture_path(problem_id))
        if path not in Texture.tex_cache:  # MiniWorld's process-wide texture cache
            Texture.tex_cache[path] = Texture(Texture.load(path), f"sign_{problem_id}")
        tex = Texture.tex_cache[path]
        # ImageFrame.__init__ looks textures up by name in MiniWorld's own folder; set its
        # fields directly instead (same meaning: centre on the wall, facing ``dir``).
        super(ImageFrame, self).__init__()
        self.pos = np.array(layout.SIGN_POS, dtype=float)
        self.dir = layout.SIGN_DIR
        self.tex = tex
        self.width = layout.SIGN_WIDTH
        self.depth = 0.05
        self.height = tex.height / tex.width * self.width


class SignWorld(MiniWorldEnv):
    """The MetaSign3D rooms, objects and signs, on MiniWorld's engine.

    Built once per env. Unlike ``MiniWorldEnv.__init__`` this opens no window and allocates
    no frame buffer of its own (see :class:`SharedGL`); ``MiniWorldEnv.reset`` builds the
    rooms, walls (collision segments) and entities once, through :meth:`_gen_world`.
    Moving the agent is done by the env (:mod:`meta_explore_envs.envs.sign3d`), which then
    calls :meth:`observe`.
    """

    def __init__(self):
        self.gl = shared_gl()
        self.gl.window.switch_to()
        self.params = _params()
        self.domain_rand = False
        self.max_episode_steps = layout.MAX_STEPS
        self.window = None
        self.render_mode = None
        self.view = "agent"
        self.shadow_window = self.gl.window
        self.obs_fb = self.gl.framebuffer(layout.OBS_WIDTH, layout.OBS_HEIGHT, OBS_SAMPLES)
        self.problem_id = 0
        MiniWorldEnv.reset(self)  # gym.Env.reset + world generation + static data + one frame

    # ------------------------------------------------------------------ world generation
    def _gen_world(self) -> None:
        rooms = [self.add_rect_room(min_x=x0, max_x=x1, min_z=z0, max_z=z1) for x0, x1, z0, z1 in layout.ROOMS]
        top, left, right = rooms
        self.connect_rooms(top, left, min_x=layout.TOP_LEFT_OPENING[0], max_x=layout.TOP_LEFT_OPENING[1])
        self.connect_rooms(left, right, min_z=layout.BOTTOM_OPENING[0], max_z=layout.BOTTOM_OPENING[1])
        self.objects = []
        for obj in layout.OBJECTS:
            colour = layout.COLOUR_NAMES[obj.colour]
            ent = Box(color=colour) if obj.shape == layout.BOX else BigKey(color=colour)
            self.objects.append(self.place_entity(ent, pos=np.array([obj.x, 0.0, obj.z]), dir=obj.facing))
        self.signs = [SignFrame(p) for p in range(len(layout.SIGN_WORDS))]
        self.agent = SignAgent()
        self.place_agent(pos=np.array([4.5, 0.0, 5.0]), dir=0.0)

    def _render_static(self) -> None:
        """Compile one display list per problem: rooms, objects and that problem's sign.

        Nothing in the scene moves (touching an object ends the episode), so a frame is one
        ``glCallList``. The lists are built once per process and shared by all worlds.
        """
        lists = self.gl.display_lists
        if lists:
            return
        for sign in self.signs:
            list_id = gl.glGenLists(1)
            gl.glNewList(list_id, gl.GL_COMPILE)
            light = (gl.GLfloat * 4)
            gl.glLightfv(gl.GL_LIGHT0, gl.GL_POSITION, light(*self.light_pos, 1))
            gl.glLightfv(gl.GL_LIGHT0, gl.GL_AMBIENT, light(*self.light_ambient))
            gl.glLightfv(gl.GL_LIGHT0, gl.GL_DIFFUSE, light(*self.light_color))
            gl.glEnable(gl.GL_LIGHTING)
            gl.glEnable(gl.GL_LIGHT0)
            gl.glShadeModel(gl.GL_SMOOTH)
            gl.glEnable(gl.GL_COLOR_MATERIAL)
            gl.glColorMaterial(gl.GL_FRONT_AND_BACK, gl.GL_AMBIENT_AND_DIFFUSE)
            gl.glEnable(gl.GL_TEXTURE_2D)
            for room in self.rooms:
                room._render()
            for ent in self.objects:
                ent.render()
            sign.render()
            gl.glEndList()
            lists[sign.problem_id] = list_id

    def _render_world(self, frame_buffer, render_agent):
        gl.glCallList(self.gl.display_lists[self.problem_id])
        if render_agent:
            self.agent.render()
        return frame_buffer.resolve()

    # ------------------------------------------------------------------ used by the env
    def blocked(self, x: float, z: float) -> bool:
        """Whether the agent's body at (x, z) would hit a wall or an object."""
        return bool(self.intersect(self.agent, np.array((x, 0.0, z)), self.agent.radius))

    def touched(self, x: float, z: float) -> int | None:
        """Index (in ``layout.OBJECTS``) of the object the agent at (x, z) touches, if any."""
        self.agent.pos = np.array((x, 0.0, z))
        for index, ent in enumerate(self.objects):
            if self.near(ent):
                return index
        return None

    def observe(self, problem_id: int, x: float, z: float, heading: float, frame_buffer=None) -> np.ndarray:
        """The agent's first-person view at a pose, as an (H, W, 3) uint8 array."""
        self.problem_id = problem_id
        self.agent.pos = np.array((x, 0.0, z))
        self.agent.dir = heading
        return self.render_obs(frame_buffer)

    def large_view(self, problem_id: int, x: float, z: float, heading: float) -> np.ndarray:
        """A larger first-person view for people (``VIEW_WIDTH`` x ``VIEW_HEIGHT``)."""
        return self.observe(problem_id, x, z, heading, self.gl.framebuffer(VIEW_WIDTH, VIEW_HEIGHT, OBS_SAMPLES))

    def close(self) -> None:  # the GL resources are shared; nothing of ours to free
        return None


__all__ = ["APT_PACKAGES", "OpenGLUnavailableError", "SharedGL", "SignWorld", "configure_pyglet", "shared_gl"]
