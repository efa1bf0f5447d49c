#include "train/prompts.h"

#include "core/error.h"

namespace lipar::train {

namespace {

// {} stands for the style phrasing, [] for a scene description.
const std::vector<std::string>& templates() {
    static const std::vector<std::string> t = {
        "{}",
        "{}",
        "{} style",
        "in the style of {}",
        "make it {}",
        "turn this into {}",
        "{} video",
        "apply {}",
        "convert to {}",
        "{} effect",
        "[], {}",
        "[] in {} style",
        "a {} of []",
        "{} look",
        "show it as {}",
        "please make the video {}",
    };
    return t;
}

const std::vector<std::string>& held_out_templates() {
    static const std::vector<std::string> t = {"transform the scene into {}",
                                               "i would like {} please"};
    return t;
}

std::string fill_template(const std::string& templ, const std::string& phrase, const std::string& scene) {
    std::string out;
    for (size_t i = 0; i < templ.size(); ++i) {
        if (templ.compare(i, 2, "{}") == 0) {
            out += phrase;
            ++i;
        } else if (templ.compare(i, 2, "[]") == 0) {
            out += scene;
            ++i;
        } else {
            out += templ[i];
        }
    }
    return out;
}

template <typename T>
const T& pick(std::mt19937_64& rng, const std::vector<T>& v) {
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
}

}  // namespace

const std::vector<std::string>& scene_descriptions() {
    static const std::vector<std::string> s = {
        "a dog running on grass", "a man walking down the street", "cups on a table",
        "wooden blocks", "a person waving", "a city at night", "trees in the wind",
        "a rabbit in a meadow", "people talking", "a cat on a sofa", "the ocean",
        "a mountain landscape", "a car driving", "children playing", "a bird flying",
        "a kitchen", "my living room", "a face", "a busy market", "a forest path",
        "flowers in a garden", "a dancer", "a video of my desk", "a sunny day",
        "a portrait", "the sky with clouds", "a man with a hat", "a little dog",
    };
    return s;
}

PromptSampler::PromptSampler(uint64_t seed) : m_rng(seed) {}

StylePrompt PromptSampler::sample(Style style) {
    const StyleInfo& info = style_info(style);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    if (style == Style::Original && u(m_rng) < 0.4) {
        // A scene alone names no style: keep the video as it is.
        return {pick(m_rng, scene_descriptions()), style};
    }
    const std::string& phrase = pick(m_rng, info.phrasings);
    if (phrase.empty()) return {"", style};
    return {fill_template(pick(m_rng, templates()), phrase, pick(m_rng, scene_descriptions())), style};
}

std::vector<std::string> PromptSampler::all_training_prompts() {
    std::vector<std::string> out = scene_descriptions();
    for (const auto& info : style_catalog()) {
        for (const auto& phrase : info.phrasings) {
            if (phrase.empty()) continue;
            for (const auto& t : templates()) {
                for (size_t s = 0; s < scene_descriptions().size(); s += 7)
                    out.push_back(fill_template(t, phrase, scene_descriptions()[s]));
            }
        }
    }
    return out;
}

std::vector<StylePrompt> PromptSampler::held_out_prompts() {
    std::vector<StylePrompt> out;
    for (const auto& info : style_catalog()) {
        for (const auto& phrase : info.held_out) out.push_back({phrase, info.style});
        if (info.style == Style::Original) continue;
        for (const auto& t : held_out_templates()) out.push_back({fill_template(t, info.name, ""), info.style});
    }
    return out;
}

}  // namespace lipar::train
