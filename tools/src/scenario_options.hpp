// scenario_options: the command-line options that describe a workload scenario (Stable Diffusion or
// LLaMA), shared by every command that costs a workload (show model, predict, explain).
#pragma once

#include <boost/program_options.hpp>
#include <string>

#include "gpuperf/workload_predict.hpp"
#include "gpuperf/workloads.hpp"

namespace gpuperf::cli {

namespace po = boost::program_options;

// Which part of a Stable Diffusion image a command looks at.
enum class SdPart { unet, text_encoder, vae_decode, image };
std::string_view to_string(SdPart part);

// Adds --resolution --batch --cfg --no-cfg --steps --attention --precision --hires --hires-steps --part
// (Stable Diffusion) and --context --prompt-tokens --weights --kv-dtype --phase (LLaMA). None has a
// po default: an option given for the other kind of model is an error, defaults come from the structs.
void add_scenario_options(po::options_description& desc);

// The scenario the options describe for `model`. Throws UsageError with a one-line message for a bad
// value (not a number, zero, out of range, unknown name, beyond the model's context) or an option
// that does not apply to this kind of model.
SdScenario sd_scenario_from(const po::variables_map& vm, const ModelSpec& model);
SdPart sd_part_from(const po::variables_map& vm);
LlamaScenario llama_scenario_from(const po::variables_map& vm, const ModelSpec& model);

// One line for people: what the step of a scenario is (resolution, batch, CFG, attention, precision for
// SD's pass `sd_pass`; phase, context, weights, batch for LLaMA).
std::string describe_scenario(const Scenario& scenario, int sd_pass);

// Parses "WIDTHxHEIGHT" (e.g. 512x512); throws UsageError naming `option`.
Resolution parse_resolution(const std::string& text, const std::string& option);
// Parses a whole decimal integer in [lo, hi]; throws UsageError naming `option`.
std::int64_t parse_count(const std::string& text, const std::string& option, std::int64_t lo, std::int64_t hi);

}  // namespace gpuperf::cli
