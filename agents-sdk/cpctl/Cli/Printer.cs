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
        if (envelope.Stale is { } stale)
        {
            await environment.Output.WriteLineAsync(StaleLine(stale)).ConfigureAwait(false);
        }
        if (envelope.Error is { } error)
        {
            // One line: a control character in a (refused) trace id or a server's detail must not break it.
            await environment.Error.WriteLineAsync(OneLine($"error [{error.Code}]: {error.Detail} (trace {envelope.TraceId})")).ConfigureAwait(false);
        }
        await environment.Output.FlushAsync().ConfigureAwait(false);
    }

    private static string OneLine(string text) => string.Concat(text.Select(c => char.IsControl(c) ? "\\u" + ((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture) : c.ToString()));

    public static string StaleLine(AgentStaleness stale) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"(served from a control-plane replica's memory, its store last answered {stale.LastContactMs / 1000.0:0.#} s ago: this may be stale)");
}
