using System.Text.Json.Nodes;
using ControlPlane.Api.V1;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace ControlPlane.Agents.Runtime;

/// <summary>
/// A request an action would send, as <c>--dry-run</c> prints it: transport, method, target,
/// headers (the platform token shown as [REDACTED], and only where it would be sent) and body.
/// Built from the same request objects the action sends for real.
/// </summary>
internal sealed record PlannedRequest(string Transport, string Method, string Target, JsonObject Headers, JsonNode? Body, string? Note = null)
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(false).WithPreserveProtoFieldNames(true));

    /// <summary>A gRPC call: <c>POST {address}/{service}/{method}</c> with the message as proto3 JSON.</summary>
    public static PlannedRequest Grpc(MethodDescriptor method, IMessage body, Uri address, string traceId, bool hasToken, string? note = null)
    {
        var headers = new JsonObject { ["x-request-id"] = traceId };
        if (method.GetOptions()?.GetExtension(OptionsExtensions.AdminOnly) == true)
        {
            headers["x-platform-token"] = hasToken ? Redactor.Mask : "(none: AGENT_PLATFORM_TOKEN is not set; the call would be refused)";
        }
        return new PlannedRequest("grpc", $"{method.Service.FullName}/{method.Name}", address.ToString().TrimEnd('/'), headers, JsonNode.Parse(Formatter.Format(body)), note);
    }

    /// <summary>An HTTP request.</summary>
    public static PlannedRequest Http(HttpCall call, string traceId, JsonNode? body = null, string? note = null)
    {
        var headers = new JsonObject { ["X-Request-ID"] = traceId };
        foreach (var (name, value) in call.Headers ?? new Dictionary<string, string>())
        {
            headers[name] = value;
        }
        body ??= call.Body is { Length: > 0 } bytes ? TryParse(bytes) : null;
        return new PlannedRequest("http", call.Method.Method, call.Url.ToString(), headers, body, note);
    }

    public JsonObject ToJson()
    {
        var json = new JsonObject
        {
            ["transport"] = Transport,
            ["method"] = Method,
            ["target"] = Target,
            ["headers"] = Headers.DeepClone(),
            ["body"] = Body?.DeepClone(),
        };
        if (Note is not null)
        {
            json["note"] = Note;
        }
        return json;
    }

    public override string ToString() =>
        $"{(Transport == "grpc" ? "gRPC " + Method + " -> " + Target : Method + " " + Target)}{Environment.NewLine}" +
        string.Concat(Headers.Select(h => $"  {h.Key}: {h.Value}{Environment.NewLine}")) +
        (Body is null ? "" : "  " + Body.ToJsonString() + Environment.NewLine) +
        (Note is null ? "" : "  # " + Note + Environment.NewLine);

    private static JsonNode? TryParse(byte[] bytes)
    {
        try
        {
            return JsonNode.Parse(bytes);
        }
        catch (System.Text.Json.JsonException)
        {
            return JsonValue.Create($"({bytes.Length} bytes)");
        }
    }
}
