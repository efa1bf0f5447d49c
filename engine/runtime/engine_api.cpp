// The small free functions and value types of the public API (lipar/engine.h).
#include "core/log.h"
#include "lipar/engine.h"
#include "media/camera.h"

namespace lipar {

SourceSpec SourceSpec::file(const std::string& path, bool loop, Pacing pacing) {
    SourceSpec s;
    s.kind = Kind::File;
    s.path = path;
    s.loop = loop;
    s.pacing = pacing;
    return s;
}

SourceSpec SourceSpec::camera(int index, int width, int height) {
    SourceSpec s;
    s.kind = Kind::Camera;
    s.camera_index = index;
    s.camera_width = width;
    s.camera_height = height;
    s.pacing = Pacing::Realtime;
    return s;
}

SourceSpec SourceSpec::external(Pacing pacing) {
    SourceSpec s;
    s.kind = Kind::External;
    s.pacing = pacing;
    return s;
}

std::vector<CameraDescription> list_cameras() {
    std::vector<CameraDescription> out;
    for (const auto& c : media::list_cameras()) {
        CameraDescription d;
        d.index = c.index;
        d.name = c.name;
        d.path = c.path;
        d.sizes = c.sizes;
        out.push_back(std::move(d));
    }
    return out;
}

const char* engine_state_name(EngineState state) {
    switch (state) {
        case EngineState::Stopped:
            return "stopped";
        case EngineState::Loading:
            return "loading";
        case EngineState::Ready:
            return "ready";
        case EngineState::Running:
            return "running";
        case EngineState::Finished:
            return "finished";
        case EngineState::Failed:
            return "failed";
    }
    return "unknown";
}

}  // namespace lipar
