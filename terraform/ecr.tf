# Container registry for the `oms` image. Tags are IMMUTABLE: once CI pushes oms:0.4.2 that
# tag names those exact bytes forever, which is why the k8s overlays may reference images by
# tag instead of digest (see the checkov.io/skip annotations on the workloads).

resource "aws_ecr_repository" "oms" {
  name                 = "${local.name}/oms"
  image_tag_mutability = "IMMUTABLE"
  force_delete         = false

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = module.kms.key_arns["ecr"]
  }
}

resource "aws_ecr_lifecycle_policy" "oms" {
  repository = aws_ecr_repository.oms.name

  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Drop untagged layers left by failed or superseded pushes"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = 7
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the last 100 releases (rollback window)"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = 100
        }
        action = { type = "expire" }
      },
    ]
  })
}
