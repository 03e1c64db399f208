using System.Text.Json;
using ControlPlane.Agents;

namespace ControlPlane.Cli;

/// <summary>Prints an envelope: the JSON envelope on stdout (--output json), or the human text on stdout and the error on stderr.</summary>
internal static class Printer
{
    public static async Task PrintAsync(AgentEnvelope envelope, bool json, CliEnvironment environment)
    {
        if (json)
        {
            await environment.Output.WriteLineAsync(envelope.ToJson(indented: true)).ConfigureAwait(false);
            return;
        }
        var text = envelope.Text ?? (envelope.Result is { } result ? result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + Environment.NewLine : null);
        if (text is not null && (envelope.Ok || envelope.Text is not null))
        {
            await environment.Output.WriteAsync(text).ConfigureAwait(false);
        }
        if (envelope.Error is { } error)
        {
            await environment.Error.WriteLineAsync($"error [{error.Code}]: {error.Detail} (trace {envelope.TraceId})").ConfigureAwait(false);
        }
        await environment.Output.FlushAsync().ConfigureAwait(false);
    }
}
