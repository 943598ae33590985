//! Collision geometry for cella. This first part loads robot meshes (STL, OBJ) and resolves
//! `package://` URIs the way ROS tools do; the collision world and checks build on it.

#![warn(missing_docs)]

pub mod mesh;
