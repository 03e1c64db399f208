namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>Marks the call context of a JSON-transcoded REST call.</summary>
internal interface ITranscodedCall
{
    HttpRuleBinding Binding { get; }
}
