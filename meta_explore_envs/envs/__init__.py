"""The problem families. Each module lays out one world and defines success."""

from meta_explore_envs.envs.cooking import CookingEnv
from meta_explore_envs.envs.distracting_bus import DistractingBusEnv
from meta_explore_envs.envs.map import MapEnv
from meta_explore_envs.envs.point_corner import PointCornerEnv

__all__ = ["CookingEnv", "DistractingBusEnv", "MapEnv", "PointCornerEnv"]
