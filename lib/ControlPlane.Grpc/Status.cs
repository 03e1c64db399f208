using Google.Protobuf;

namespace ControlPlane.Grpc;

/// <summary>
/// The outcome of a call: a code, a human-readable detail, and optionally the rich
/// <c>google.rpc.Status</c> carried in <c>grpc-status-details-bin</c>.
/// </summary>
public readonly record struct Status(StatusCode StatusCode, string Detail, Google.Rpc.Status? Details = null)
{
    public static readonly Status DefaultSuccess = new(StatusCode.OK, "");

    public Status(StatusCode statusCode, string detail, params IMessage[] details)
        : this(statusCode, detail, BuildDetails(statusCode, detail, details))
    {
    }

    private static Google.Rpc.Status? BuildDetails(StatusCode code, string detail, IMessage[] details)
    {
        if (details.Length == 0)
        {
            return null;
        }
        var status = new Google.Rpc.Status { Code = (int)code, Message = detail };
        foreach (var d in details)
        {
            status.Details.Add(Google.Protobuf.WellKnownTypes.Any.Pack(d));
        }
        return status;
    }

    /// <summary>Finds the first detail of type <typeparamref name="T"/> packed in <see cref="Details"/>.</summary>
    public T? GetDetail<T>() where T : class, IMessage<T>, new()
    {
        if (Details is null)
        {
            return null;
        }
        var descriptor = new T().Descriptor;
        foreach (var any in Details.Details)
        {
            if (any.Is(descriptor))
            {
                return any.Unpack<T>();
            }
        }
        return null;
    }

    public override string ToString() => $"Status(StatusCode=\"{StatusCode}\", Detail=\"{Detail}\")";
}
