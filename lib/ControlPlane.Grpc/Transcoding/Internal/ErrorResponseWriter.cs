using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// Renders a non-OK status as the JSON form of <c>google.rpc.Status</c>:
/// <c>{"code": 5, "message": "...", "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "not_found", ...}]}</c>.
/// The details are the status' own (ErrorInfo, BadRequest ...); when none is an ErrorInfo, one is
/// added with the reason derived from the code, so REST clients can always switch on <c>details[].reason</c>.
/// </summary>
internal sealed class ErrorResponseWriter(ProtoJsonWriter json)
{
    public void Write(Utf8JsonWriter writer, Status status)
    {
        var details = status.Details?.Details ?? [];
        writer.WriteStartObject();
        writer.WriteNumber("code", (int)status.StatusCode);
        writer.WriteString("message", status.Detail.Length > 0 ? status.Detail : status.Details?.Message ?? "");
        writer.WritePropertyName("details");
        writer.WriteStartArray();
        foreach (var detail in details)
        {
            json.WriteAny(writer, detail); // a type no bound service defines: as its bytes
        }
        if (!details.Any(d => d.Is(ErrorInfo.Descriptor)))
        {
            json.WriteAny(writer, Any.Pack(new ErrorInfo { Type = HttpStatusMapping.DefaultReason(status.StatusCode), Domain = RpcErrors.Domain }));
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }
}
