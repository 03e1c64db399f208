using System.Text;
using System.Text.Json;
using ControlPlane.Interop.Tests.Infrastructure;

namespace ControlPlane.Interop.Tests.Buf;

/// <summary>Runs <c>buf curl --protocol grpc --http2-prior-knowledge</c> (buf from npm) against a server, with server reflection.</summary>
public static class BufCurl
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static async Task<ProcessResult> RunAsync(params string[] arguments)
    {
        var buf = Prerequisites.RequireBuf();
        // --timeout bounds buf's own work; the process timeout (larger) kills it if that fails.
        string[] common = ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--timeout", "30s", "--log-format", "text"];
        return await ExternalProcess.RunAsync(buf, [.. common, .. arguments], Timeout);
    }

    /// <summary>Runs a command that must succeed and returns its stdout.</summary>
    public static async Task<string> RunOkAsync(params string[] arguments)
    {
        var result = await RunAsync(arguments);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.StandardOutput;
    }

    /// <summary>The response messages buf printed: a sequence of JSON documents.</summary>
    public static IReadOnlyList<JsonElement> ParseMessages(string output)
    {
        var messages = new List<JsonElement>();
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(output), new JsonReaderOptions { AllowMultipleValues = true });
        try
        {
            while (reader.Read())
            {
                using var document = JsonDocument.ParseValue(ref reader);
                messages.Add(document.RootElement.Clone());
            }
        }
        catch (JsonException ex)
        {
            throw new Xunit.Sdk.XunitException($"buf printed something other than JSON messages ({ex.Message}):{Environment.NewLine}{output}");
        }
        return messages;
    }

    /// <summary>Non-empty output lines, trimmed.</summary>
    public static string[] Lines(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
